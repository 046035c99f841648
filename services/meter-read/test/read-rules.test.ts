import { describe, expect, it } from "vitest";
import {
  type BatchInput,
  contentHash,
  DAY_MS,
  eligibleFromMs,
  evaluateBatch,
  type IncomingRead,
  type StoredRead,
} from "../src/domain/read-rules.ts";

const H = 3600_000;
const NOW = Date.parse("2026-06-15T12:00:00Z");
const COMMISSIONED = Date.parse("2020-01-01T00:00:00Z");
const ONBOARDED = Date.parse("2021-01-01T00:00:00Z");
const at = (iso: string) => Date.parse(iso);

let ids = 0;
function batch(over: Partial<BatchInput> & { reads: IncomingRead[] }): BatchInput {
  return {
    deviceId: "dev-1",
    type: "history",
    source: "api",
    unit: "Wh",
    device: {
      capacityLog: [{ fromMs: COMMISSIONED, capacityW: 10_000 }],
      commissionedMs: COMMISSIONED,
      yieldKwhPerKw: null,
      onboardedMs: ONBOARDED,
      cumulativeType: null,
      source: null,
    },
    existing: [],
    lastCumulative: null,
    historyAfterLastCumulative: false,
    nowMs: NOW,
    futureToleranceMs: 300_000,
    newReadId: () => `mrd-${++ids}`,
    ...over,
  };
}
const read = (index: number, start: string | null, end: string, value: number): IncomingRead => ({
  index,
  startMs: start === null ? null : at(start),
  endMs: at(end),
  value,
});
const stored = (r: Partial<StoredRead> & Pick<StoredRead, "endMs">): StoredRead => ({
  readId: "mrd-old",
  version: 1,
  readType: "history",
  source: "api",
  startMs: null,
  valueWh: 0,
  energyWh: null,
  eligible: true,
  flags: [],
  contentHash: null,
  ...r,
});
const codes = (input: BatchInput) =>
  evaluateBatch(input).outcomes.map((o) => [
    o.status,
    ...o.reasons.map((r) => r.code),
    ...o.warnings.map((w) => w.code),
  ]);

describe("history reads", () => {
  // 10 kW for a day: physical limit ≈ 240 kWh × 0.995^6.5 ≈ 232 kWh; yield ≈ 39.7 kWh.
  it.each<[string, IncomingRead, string[]]>([
    ["a plausible day", read(0, "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z", 30_000), ["stored"]],
    [
      "a negative value",
      read(0, "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z", -1),
      ["refused", "negative_value"],
    ],
    [
      "a fraction of a Wh",
      read(0, "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z", 1.5),
      ["refused", "not_whole_wh"],
    ],
    [
      "end before start",
      read(0, "2026-06-02T00:00:00Z", "2026-06-01T00:00:00Z", 1),
      ["refused", "end_not_after_start"],
    ],
    [
      "end equal to start",
      read(0, "2026-06-02T00:00:00Z", "2026-06-02T00:00:00Z", 1),
      ["refused", "end_not_after_start"],
    ],
    ["no start", read(0, null, "2026-06-02T00:00:00Z", 1), ["refused", "end_not_after_start"]],
    [
      "before commissioning",
      read(0, "2019-12-31T00:00:00Z", "2020-01-02T00:00:00Z", 1),
      ["refused", "before_commissioning", "before_onboarding"],
    ],
    [
      "before onboarding",
      read(0, "2020-12-31T00:00:00Z", "2021-01-02T00:00:00Z", 1),
      ["refused", "before_onboarding"],
    ],
    [
      "more than 3 years ago",
      read(0, "2022-06-14T00:00:00Z", "2022-06-15T00:00:00Z", 1000),
      ["stored_with_warnings", "older_than_3_years"],
    ],
    ["exactly 3 years ago", read(0, "2023-06-15T00:00:00Z", "2023-06-16T00:00:00Z", 1000), ["stored"]],
    [
      "above the yield expectation",
      read(0, "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z", 100_000),
      ["stored_with_warnings", "above_yield_expectation"],
    ],
    [
      "above the physical limit",
      read(0, "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z", 200_000),
      ["refused", "above_physical_limit"],
    ],
    ["in the future", read(0, "2026-06-15T11:00:00Z", "2026-06-15T12:10:00Z", 1), ["refused", "in_future"]],
    ["within the clock tolerance", read(0, "2026-06-15T11:00:00Z", "2026-06-15T12:04:00Z", 1), ["stored"]],
  ])("%s", (_what, r, expected) => {
    expect(codes(batch({ reads: [r] }))).toEqual([expected]);
  });

  it("refuses a device without capacity", () => {
    const input = batch({ reads: [read(0, "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z", 1)] });
    input.device.capacityLog = [];
    expect(codes(input)).toEqual([["refused", "capacity_unknown"]]);
  });

  it("checks against the capacity in force during the period, not today's", () => {
    const input = batch({ reads: [read(0, "2026-06-01T00:00:00Z", "2026-06-01T01:00:00Z", 9000)] });
    input.device.capacityLog = [
      { fromMs: COMMISSIONED, capacityW: 5000 },
      { fromMs: at("2026-06-10T00:00:00Z"), capacityW: 20_000 },
    ];
    expect(codes(input)).toEqual([["refused", "above_physical_limit"]]);
  });

  it("refuses reads that overlap a stored read or each other, and stores the rest", () => {
    const existing = [
      stored({
        startMs: at("2026-06-01T00:00:00Z"),
        endMs: at("2026-06-02T00:00:00Z"),
        valueWh: 5,
        energyWh: 5,
      }),
    ];
    const result = evaluateBatch(
      batch({
        existing,
        reads: [
          read(0, "2026-06-01T12:00:00Z", "2026-06-02T12:00:00Z", 1),
          read(1, "2026-06-02T00:00:00Z", "2026-06-03T00:00:00Z", 1),
          read(2, "2026-06-02T06:00:00Z", "2026-06-02T07:00:00Z", 1),
        ],
      }),
    );
    expect(result.outcomes.map((o) => [o.status, o.reasons[0]?.code])).toEqual([
      ["refused", "overlaps_read"],
      ["stored", undefined],
      ["refused", "overlaps_read"],
    ]);
    expect(result.stored.map((r) => r.index)).toEqual([1]);
    expect(result.outcomes[0]!.reasons[0]).toMatchObject({ index: 0, field: "starttimestamp" });
  });

  it("refuses a history read over a delta series' period", () => {
    const existing = [
      stored({ readType: "delta", endMs: at("2026-06-01T00:00:00Z"), valueWh: 0 }),
      stored({
        readType: "delta",
        startMs: at("2026-06-01T00:00:00Z"),
        endMs: at("2026-06-05T00:00:00Z"),
        valueWh: 9,
        energyWh: 9,
      }),
    ];
    expect(
      codes(batch({ existing, reads: [read(0, "2026-06-03T00:00:00Z", "2026-06-04T00:00:00Z", 1)] })),
    ).toEqual([["refused", "overlaps_read"]]);
  });

  it("answers a re-sent read as before, stores nothing, and refuses another value for it as a conflict", () => {
    const existing = [
      stored({
        startMs: at("2022-06-01T00:00:00Z"),
        endMs: at("2022-06-02T00:00:00Z"),
        valueWh: 700,
        energyWh: 700,
        eligible: false,
        flags: ["older_than_3_years"],
      }),
    ];
    const result = evaluateBatch(
      batch({
        existing,
        reads: [
          read(0, "2022-06-01T00:00:00Z", "2022-06-02T00:00:00Z", 700),
          read(1, "2022-06-01T12:00:00Z", "2022-06-02T00:00:00Z", 701),
        ],
      }),
    );
    expect(result.stored).toEqual([]);
    expect(result.outcomes[0]).toMatchObject({
      status: "stored_with_warnings",
      duplicate: true,
      readId: "mrd-old",
    });
    expect(result.outcomes[1]).toMatchObject({
      status: "refused",
      reasons: [{ code: "conflict", field: "value" }],
    });
  });

  it("converts the unit before every rule and hashes the energy", () => {
    const result = evaluateBatch(
      batch({ unit: "kWh", reads: [read(0, "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z", 30.5)] }),
    );
    const row = result.stored[0]!;
    expect(row).toMatchObject({
      valueWh: 30_500,
      energyWh: 30_500,
      version: 1,
      source: "api",
      eligible: true,
    });
    expect(row.contentHash).toBe(
      contentHash("dev-1", { startMs: row.startMs!, endMs: row.endMs, energyWh: 30_500, source: "api" }),
    );
  });

  it("corrects a telemetry read with a new version instead of a conflict", () => {
    const s = at("2026-06-01T10:00:00Z");
    const old = stored({
      source: "telemetry",
      startMs: s,
      endMs: s + H / 2,
      valueWh: 100,
      energyWh: 100,
      contentHash: "x",
    });
    const input = batch({
      source: "telemetry",
      existing: [old],
      reads: [{ index: 0, startMs: s, endMs: s + H / 2, value: 120 }],
    });
    input.device.source = "telemetry";
    const result = evaluateBatch(input);
    expect(result.stored[0]).toMatchObject({ readId: "mrd-old", version: 2, energyWh: 120, previous: old });
  });

  it("takes telemetry reads from before onboarding (the rule is for back-dated API reads)", () => {
    const input = batch({
      source: "telemetry",
      reads: [read(0, "2020-06-01T10:00:00Z", "2020-06-01T10:30:00Z", 100)],
    });
    expect(codes(input)[0]![0]).toMatch(/^stored/);
  });

  it("refuses reads from the other source", () => {
    const input = batch({ reads: [read(0, "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z", 1)] });
    input.device.source = "telemetry";
    expect(codes(input)).toEqual([["refused", "source_mismatch"]]);
  });

  it("after a switch, takes each source's reads for its own periods only", () => {
    const input = batch({
      reads: [
        read(0, "2026-05-31T23:00:00Z", "2026-06-01T00:00:00Z", 1),
        read(1, "2026-06-01T00:00:00Z", "2026-06-01T01:00:00Z", 1),
        read(2, "2026-05-31T23:30:00Z", "2026-06-01T00:30:00Z", 1),
      ],
    });
    input.device.source = "api";
    input.device.sourceSwitches = [{ fromMs: at("2026-06-01T00:00:00Z"), source: "telemetry" }];
    expect(codes(input)).toEqual([
      ["stored"],
      ["refused", "source_mismatch"],
      ["refused", "source_mismatch"],
    ]);
  });

  it("refuses a delta entry whose period (from the previous entry) runs past a switch", () => {
    const previous = stored({ readType: "delta", endMs: at("2026-05-31T00:00:00Z"), valueWh: 0 });
    const input = batch({
      type: "delta",
      reads: [read(0, null, "2026-06-02T00:00:00Z", 10)],
      existing: [previous],
      lastCumulative: previous,
    });
    input.device.source = "api";
    input.device.cumulativeType = "delta";
    input.device.sourceSwitches = [{ fromMs: at("2026-06-01T00:00:00Z"), source: "telemetry" }];
    expect(codes(input)).toEqual([["refused", "source_mismatch"]]);
  });
});

describe("delta reads", () => {
  const start = (end: string, value = 0) => stored({ readType: "delta", endMs: at(end), valueWh: value });

  it.each<[string, StoredRead | null, IncomingRead[], string[][]]>([
    [
      "the first entry only sets the starting point",
      null,
      [read(0, null, "2026-06-01T00:00:00Z", 5000), read(1, null, "2026-06-02T00:00:00Z", 30_000)],
      [["stored_with_warnings", "starting_point"], ["stored"]],
    ],
    [
      "counts since the previous entry",
      start("2026-06-01T00:00:00Z"),
      [read(0, null, "2026-06-02T00:00:00Z", 30_000)],
      [["stored"]],
    ],
    [
      "a negative value",
      start("2026-06-01T00:00:00Z"),
      [read(0, null, "2026-06-02T00:00:00Z", -5)],
      [["refused", "negative_value"]],
    ],
    [
      "more than 365 days after the previous entry",
      start("2025-06-01T00:00:00Z"),
      [read(0, null, "2026-06-02T00:00:00Z", 5)],
      [["refused", "gap_too_long"]],
    ],
    [
      "exactly 365 days",
      start("2025-06-02T00:00:00Z"),
      [read(0, null, "2026-06-02T00:00:00Z", 5)],
      [["stored"]],
    ],
    [
      "more than the device could produce since the previous entry",
      start("2026-06-01T00:00:00Z"),
      [read(0, null, "2026-06-01T01:00:00Z", 9000)],
      [["refused", "above_physical_limit"]],
    ],
    [
      "earlier than the latest entry",
      start("2026-06-05T00:00:00Z"),
      [read(0, null, "2026-06-02T00:00:00Z", 5)],
      [["refused", "out_of_order"]],
    ],
    [
      "in the future",
      start("2026-06-14T00:00:00Z"),
      [read(0, null, "2026-06-16T00:00:00Z", 5)],
      [["refused", "in_future"]],
    ],
  ])("%s", (_what, last, reads, expected) => {
    expect(
      codes(batch({ type: "delta", lastCumulative: last, existing: last ? [last] : [], reads })),
    ).toEqual(expected);
  });

  it("counts [previous end, end) and keeps going after a refused entry", () => {
    const result = evaluateBatch(
      batch({
        type: "delta",
        reads: [
          read(0, null, "2026-06-01T00:00:00Z", 0),
          read(1, null, "2026-06-01T01:00:00Z", 99_000),
          read(2, null, "2026-06-02T00:00:00Z", 30_000),
        ],
      }),
    );
    expect(result.outcomes.map((o) => o.status)).toEqual(["stored_with_warnings", "refused", "stored"]);
    expect(result.stored.map((r) => [r.startMs && new Date(r.startMs).toISOString(), r.energyWh])).toEqual([
      [null, null],
      ["2026-06-01T00:00:00.000Z", 30_000],
    ]);
  });

  it("starts a new series after history reads beyond the last entry", () => {
    const last = start("2026-06-01T00:00:00Z");
    const history = stored({
      startMs: at("2026-06-01T00:00:00Z"),
      endMs: at("2026-06-03T00:00:00Z"),
      valueWh: 9,
      energyWh: 9,
    });
    expect(
      codes(
        batch({
          type: "delta",
          lastCumulative: last,
          historyAfterLastCumulative: true,
          existing: [last, history],
          reads: [read(0, null, "2026-06-04T00:00:00Z", 5), read(1, null, "2026-06-05T00:00:00Z", 5)],
        }),
      ),
    ).toEqual([["stored_with_warnings", "starting_point"], ["stored"]]);
  });

  it("refuses a series period over a history read", () => {
    const last = start("2026-06-01T00:00:00Z");
    const history = stored({
      startMs: at("2026-06-02T00:00:00Z"),
      endMs: at("2026-06-02T06:00:00Z"),
      valueWh: 9,
      energyWh: 9,
    });
    expect(
      codes(
        batch({
          type: "delta",
          lastCumulative: last,
          existing: [last, history],
          reads: [read(0, null, "2026-06-03T00:00:00Z", 5)],
        }),
      ),
    ).toEqual([["refused", "overlaps_read"]]);
  });

  it("answers a re-sent entry as before", () => {
    const last = start("2026-06-01T00:00:00Z", 4);
    const result = evaluateBatch(
      batch({
        type: "delta",
        lastCumulative: last,
        existing: [last],
        reads: [read(0, null, "2026-06-01T00:00:00Z", 4)],
      }),
    );
    expect(result.stored).toEqual([]);
    expect(result.outcomes[0]).toMatchObject({ duplicate: true, status: "stored_with_warnings" });
  });
});

describe("aggregate reads", () => {
  const last = stored({ readType: "aggregate", endMs: at("2026-06-01T00:00:00Z"), valueWh: 1_000_000 });
  it.each<[string, IncomingRead[], string[][], (number | null)[]]>([
    [
      "energy is current − previous",
      [read(0, null, "2026-06-02T00:00:00Z", 1_030_000)],
      [["stored"]],
      [30_000],
    ],
    [
      "a decreasing register",
      [read(0, null, "2026-06-02T00:00:00Z", 999_999)],
      [["refused", "decreasing_register"]],
      [],
    ],
    ["a register that did not move", [read(0, null, "2026-06-02T00:00:00Z", 1_000_000)], [["stored"]], [0]],
    [
      "each entry counts from the one before",
      [read(0, null, "2026-06-02T00:00:00Z", 1_010_000), read(1, null, "2026-06-03T00:00:00Z", 1_030_000)],
      [["stored"], ["stored"]],
      [10_000, 20_000],
    ],
    [
      "a gap of more than 365 days",
      [read(0, null, "2027-06-02T00:00:00Z", 1_000_001)],
      [["refused", "in_future"]],
      [],
    ],
  ])("%s", (_what, reads, expected, energies) => {
    const input = batch({ type: "aggregate", lastCumulative: last, existing: [last], reads });
    expect(codes(input)).toEqual(expected);
    expect(evaluateBatch(input).stored.map((r) => r.energyWh)).toEqual(energies);
  });

  it("refuses a gap of more than 365 days", () => {
    const old = stored({ readType: "aggregate", endMs: at("2025-01-01T00:00:00Z"), valueWh: 5 });
    expect(
      codes(
        batch({
          type: "aggregate",
          lastCumulative: old,
          existing: [old],
          reads: [read(0, null, "2026-01-02T00:00:00Z", 6)],
        }),
      ),
    ).toEqual([["refused", "gap_too_long"]]);
  });
});

describe("eligibility", () => {
  it.each([
    ["2026-06-15T12:00:00Z", "2023-06-15T00:00:00.000Z"],
    ["2024-02-29T23:00:00Z", "2021-03-01T00:00:00.000Z"],
  ])("from %s reads are eligible from %s", (now, from) => {
    expect(new Date(eligibleFromMs(at(now))).toISOString()).toBe(from);
  });

  it("needs a day to be a day", () => {
    expect(DAY_MS).toBe(86_400_000);
  });
});
