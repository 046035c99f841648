import { describe, expect, it } from "vitest";
import { capacityParts, energyLimits, plausibility, withMargin } from "../src/domain/plausibility.ts";

const H = 3600_000;
const YEAR = 365.25 * 24 * H;
const t0 = Date.UTC(2024, 0, 1);

describe("energyLimits", () => {
  it.each([
    [
      "a new 1 kW device over 1 h",
      [{ fromMs: t0, capacityW: 1000 }],
      t0,
      t0,
      t0 + H,
      1000,
      1000 * (1500 / 8760),
    ],
    [
      "a 10 kW device 2 years old over a day",
      [{ fromMs: t0, capacityW: 10_000 }],
      t0 - 2 * YEAR,
      t0,
      t0 + 24 * H,
      10_000 * 24 * 0.995 ** 2,
      10_000 * 24 * 0.995 ** 2 * (1500 / 8760),
    ],
    [
      "capacity raised half-way through",
      [
        { fromMs: t0 - YEAR, capacityW: 1000 },
        { fromMs: t0 + H, capacityW: 3000 },
      ],
      t0,
      t0,
      t0 + 2 * H,
      4000,
      4000 * (1500 / 8760),
    ],
    [
      "the first entry holds before its time",
      [{ fromMs: t0 + 10 * H, capacityW: 2000 }],
      t0,
      t0,
      t0 + H,
      2000,
      2000 * (1500 / 8760),
    ],
  ])("%s", (_what, capacityLog, commissionedMs, start, end, physical, expected) => {
    const limits = energyLimits({ capacityLog, commissionedMs, yieldKwhPerKw: null }, start, end);
    expect(limits!.physicalWh).toBeCloseTo(physical, 2);
    expect(limits!.yieldWh).toBeCloseTo(expected, 2);
  });

  it("uses the device's own yield", () => {
    const limits = energyLimits(
      { capacityLog: [{ fromMs: t0, capacityW: 1000 }], commissionedMs: t0, yieldKwhPerKw: 876 },
      t0,
      t0 + 10 * H,
    );
    expect(limits!.yieldWh).toBeCloseTo(1000, 6);
  });

  it("is unknown without a capacity", () => {
    expect(
      energyLimits({ capacityLog: [], commissionedMs: null, yieldKwhPerKw: null }, t0, t0 + H),
    ).toBeNull();
  });

  it("splits a period at each capacity change", () => {
    const log = [
      { fromMs: t0, capacityW: 1 },
      { fromMs: t0 + H, capacityW: 2 },
    ];
    expect(capacityParts(log, t0 - H, t0 + 2 * H)).toEqual([
      { startMs: t0 - H, endMs: t0 + H, capacityW: 1 },
      { startMs: t0 + H, endMs: t0 + 2 * H, capacityW: 2 },
    ]);
  });
});

describe("plausibility (margin: round(read × 1.2))", () => {
  const limits = { physicalWh: 1200, yieldWh: 600 };
  it.each([
    [0, "ok"],
    [500, "ok"],
    [501, "above_yield_expectation"],
    [1000, "above_yield_expectation"],
    [1001, "above_physical_limit"],
  ])("%s Wh is %s", (energy, verdict) => {
    expect(plausibility(energy, limits)).toBe(verdict);
  });

  it("rounds the margin like the seed", () => {
    expect(withMargin(1)).toBe(1);
    expect(withMargin(3)).toBe(4);
    expect(withMargin(10_000_000)).toBe(12_000_000);
  });
});
