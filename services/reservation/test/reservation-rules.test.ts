import { describe, expect, it } from "vitest";
import { type CandidateRead, decideIssuance } from "../src/domain/issuance.ts";
import {
  capacityInPeriodWh,
  checkAddress,
  deviceAvailability,
  mwhToWh,
  periodProblems,
} from "../src/domain/reservation-rules.ts";

const now = new Date("2026-12-01T12:00:00.000Z");
const d = (iso: string) => new Date(iso);

describe("reservation period", () => {
  it.each([
    ["a start in the past within 12 months", "2025-12-01T12:00:00Z", "2027-01-01T00:00:00Z", []],
    ["a start in the future", "2026-12-02T00:00:00Z", "2027-01-01T00:00:00Z", []],
    [
      "a start more than 12 months ago",
      "2025-12-01T11:59:59Z",
      "2027-01-01T00:00:00Z",
      ["start_too_far_in_past"],
    ],
    ["an end before the start", "2026-12-10T00:00:00Z", "2026-12-09T00:00:00Z", ["end_before_start"]],
    ["an end equal to the start", "2026-12-10T00:00:00Z", "2026-12-10T00:00:00Z", ["end_before_start"]],
    ["an end already past", "2026-06-01T00:00:00Z", "2026-11-30T00:00:00Z", ["end_in_past"]],
    [
      "both a too-old start and a past end",
      "2024-01-01T00:00:00Z",
      "2024-02-01T00:00:00Z",
      ["start_too_far_in_past", "end_in_past"],
    ],
  ])("%s", (_what, start, end, codes) => {
    expect(periodProblems(d(start), d(end), now).map((p) => p.code)).toEqual(codes);
  });
});

describe("blockchain address", () => {
  it.each([
    [
      "a correct EIP-55 checksum",
      "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F",
      "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F",
    ],
    [
      "all lower case (no checksum)",
      "0x410cb6672f7ebe397f866fc2ce1020cb18ac6c5f",
      "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F",
    ],
    [
      "all upper case (no checksum)",
      "0x410CB6672F7EBE397F866FC2CE1020CB18AC6C5F",
      "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F",
    ],
  ])("accepts %s", (_what, input, checksummed) => {
    expect(checkAddress(input)).toEqual({ address: checksummed });
  });

  it.each([
    ["a wrong checksum", "0x410cB6672F7ebE397F866fC2CE1020cB18Ac6C5F", "invalid_address_checksum"],
    ["too short", "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5", "invalid_address"],
    ["no 0x", "410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F00", "invalid_address"],
    ["not hex", "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6CZZ", "invalid_address"],
  ])("refuses %s", (_what, input, code) => {
    const result = checkAddress(input);
    expect("problem" in result && result.problem.code).toBe(code);
  });
});

describe("cool-down and availability", () => {
  const own = new Set(["rsv-mine"]);
  it.each([
    ["a device never reserved", null, null],
    [
      "a device in another buyer's reservation",
      { reservationId: "rsv-other", lockedUntil: null },
      "reserved",
    ],
    ["a device in the buyer's own reservation", { reservationId: "rsv-mine", lockedUntil: null }, "reserved"],
    [
      "a device 1 ms before its cool-down ends",
      { reservationId: "rsv-other", lockedUntil: d("2026-12-01T12:00:00.001Z") },
      "cooling_down",
    ],
    [
      "a device whose cool-down ended",
      { reservationId: "rsv-other", lockedUntil: d("2026-12-01T12:00:00Z") },
      null,
    ],
  ])("%s", (_what, lock, reason) => {
    expect(deviceAvailability(lock, now, own)?.reason ?? null).toBe(reason);
  });
});

describe("units", () => {
  it.each([
    [100, 100_000_000n],
    [0.001, 1_000n],
    [1.234567, 1_234_567n],
  ])("%d MWh is %d Wh", (mwh, wh) => {
    expect(mwhToWh(mwh)).toBe(wh);
  });

  it("computes the devices' capacity over a period", () => {
    expect(
      capacityInPeriodWh([5_000, null, 2_500], d("2026-01-01T00:00:00Z"), d("2026-01-01T10:00:00Z")),
    ).toBe(75_000n);
  });
});

const read = (
  readId: string,
  energyWh: number,
  end = "2026-03-02T11:00:00Z",
  deviceId = "dev-a",
): CandidateRead => ({
  readId,
  deviceId,
  version: 1,
  contentHash: "0".repeat(64),
  start: d("2026-03-02T10:00:00Z"),
  end: d(end),
  energyWh: BigInt(energyWh),
  late: false,
});

describe("issuance decision", () => {
  const base = { requestedWh: 0n, targetWh: 10_000n, authorityToExceed: false, minCertificateWh: 1_000n };

  it.each([
    [
      "requests the window's energy",
      [],
      [read("r1", 600), read("r2", 700, undefined, "dev-b")],
      base,
      "request",
      1_300n,
      false,
    ],
    ["carries a total below the minimum", [], [read("r1", 600)], base, "carry", 600n, false],
    [
      "adds carried energy to the next window",
      [{ ...read("r0", 600), carriedWh: 600n }],
      [read("r1", 500)],
      base,
      "request",
      1_100n,
      false,
    ],
    [
      "caps at the target without authority to exceed",
      [],
      [read("r1", 3_000), read("r2", 3_000, "2026-03-02T10:30:00Z")],
      { ...base, requestedWh: 8_000n },
      "request",
      2_000n,
      true,
    ],
    [
      "goes past the target with authority to exceed",
      [],
      [read("r1", 3_000)],
      { ...base, requestedWh: 8_000n, authorityToExceed: true },
      "request",
      3_000n,
      false,
    ],
    [
      "does nothing once the target is reached",
      [],
      [read("r1", 3_000)],
      { ...base, requestedWh: 10_000n },
      "nothing",
      0n,
      false,
    ],
    ["does nothing without energy", [], [], base, "nothing", 0n, false],
  ] as const)("%s", (_what, carried, reads, state, kind, energy, capped) => {
    const decision = decideIssuance([...carried], [...reads], state);
    expect(decision.kind).toBe(kind);
    if (decision.kind === "request") {
      expect(decision.energyWh).toBe(energy);
      expect(decision.capped).toBe(capped);
      expect(decision.contributions.reduce((sum, c) => sum + c.energyWh, 0n)).toBe(energy);
    }
    if (decision.kind === "carry") expect(decision.carriedWh).toBe(energy);
  });

  it("claims the read that crosses the target in part and leaves the later ones unclaimed", () => {
    const decision = decideIssuance(
      [],
      [read("late-read", 3_000, "2026-03-02T11:00:00Z"), read("early-read", 3_000, "2026-03-02T10:30:00Z")],
      { ...base, requestedWh: 5_000n },
    );
    expect(decision.kind === "request" && decision.reads.map((r) => [r.readId, r.claimedWh])).toEqual([
      ["early-read", 3_000n],
      ["late-read", 2_000n],
    ]);
    expect(decision.kind === "request" && decision.targetReached).toBe(true);
  });

  it("tells when a request passes the target with authority to exceed", () => {
    const decision = decideIssuance([], [read("r1", 3_000)], {
      ...base,
      requestedWh: 8_000n,
      authorityToExceed: true,
    });
    expect(decision.kind === "request" && decision.targetPassed).toBe(true);
  });
});
