import type { IssuanceRequest } from "@energy/contracts";
import { concat, keccak256, toUtf8Bytes } from "ethers";
import { describe, expect, it } from "vitest";
import { checkTargetAddress } from "../src/domain/address.ts";
import { apportion, hoursOf } from "../src/domain/apportion.ts";
import { canonicalJson } from "../src/domain/canonical-json.ts";
import { buildDocument, readsRootHash } from "../src/domain/document.ts";
import { type FeeHistory, feesForTier, replacementFees } from "../src/domain/gas.ts";
import { issuanceRequest } from "./helpers.ts";

const GWEI = 1_000_000_000n;
const caps = { maxFeePerGas: 100n * GWEI, maxPriorityFeePerGas: 10n * GWEI };
const g = (n: number) => BigInt(Math.round(n * 1e9));

describe("gas tiers (pure rules)", () => {
  // Ten busy blocks with tips rising 1..10 gwei at each percentile column, then two empty ones; base fee 10 gwei next.
  const history: FeeHistory = {
    baseFeePerGas: [...Array(12).fill(g(9)), g(10)],
    reward: [
      ...Array.from({ length: 10 }, (_, i) => [g(i + 1) / 2n, g(i + 1), g(i + 1) * 2n]),
      [0n, 0n, 0n],
      [0n, 0n, 0n],
    ],
    gasUsedRatio: [...Array(10).fill(0.5), 0, 0],
  };
  it.each([
    // tier, tip (its percentile within and across busy blocks), max fee (next base × headroom + tip)
    ["slow", g(0.5), (g(10) * 9n) / 8n + g(0.5)],
    ["standard", g(5), (g(10) * 12n) / 8n + g(5)],
    ["fast", g(10), (g(10) * 16n) / 8n + g(10)], // the 90th of 2..20 gwei is 18: capped at 10
  ] as const)("%s", (tier, tip, maxFee) => {
    const fees = feesForTier(history, tier, caps);
    expect(fees.maxPriorityFeePerGas).toBe(tip);
    expect(fees.maxFeePerGas).toBe(maxFee);
  });
  it("gives an idle chain the tiers' floors", () => {
    const idle = { baseFeePerGas: [g(1), g(1)], reward: [[0n, 0n, 0n]], gasUsedRatio: [0] };
    expect(feesForTier(idle, "fast", caps).maxPriorityFeePerGas).toBe(2n * GWEI);
    expect(feesForTier(idle, "slow", caps).maxPriorityFeePerGas).toBe(GWEI / 10n);
  });
  it("never goes over the caps", () => {
    const tight = { maxFeePerGas: g(3), maxPriorityFeePerGas: g(1) };
    expect(feesForTier(history, "fast", tight)).toEqual({ maxFeePerGas: g(3), maxPriorityFeePerGas: g(1) });
  });
  it.each([
    ["bumps both fees by 12.5%", { f: 10, p: 2 }, { f: 5, p: 1 }, { f: 11.25, p: 2.25 }],
    ["takes the tier's fees when they rose more", { f: 10, p: 2 }, { f: 30, p: 5 }, { f: 30, p: 5 }],
    ["stops at the cap", { f: 90, p: 9 }, { f: 5, p: 1 }, { f: 100, p: 10 }],
    ["cannot bump 10% under the cap", { f: 95, p: 9 }, { f: 5, p: 1 }, null],
    ["cannot bump at the cap", { f: 100, p: 10 }, { f: 5, p: 1 }, null],
  ] as const)("replacement: %s", (_, prev, current, expected) => {
    const fees = (x: { f: number; p: number }) => ({ maxFeePerGas: g(x.f), maxPriorityFeePerGas: g(x.p) });
    expect(replacementFees(fees(prev), fees(current), caps)).toEqual(
      expected === null ? null : fees(expected),
    );
  });
});

describe("canonical JSON (RFC 8785 for document values)", () => {
  it.each([
    [{ b: 1, a: [true, null, "x"] }, '{"a":[true,null,"x"],"b":1}'],
    [{ z: { y: 2, x: 1 }, skipped: undefined }, '{"z":{"x":1,"y":2}}'],
    [{ e: "é\n\u2028", n: 1.5 }, '{"e":"é\\n\u2028","n":1.5}'],
  ])("%s", (value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });
  it("refuses what JSON cannot hold", () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow();
  });
});

describe("apportioning energy to hours", () => {
  it.each([
    [10n, [1n, 1n, 1n], [4n, 3n, 3n]],
    [7n, [3n, 1n], [5n, 2n]],
    [5n, [0n, 0n], [5n, 0n]],
    [1_000_001n, [1_800_000n, 1_800_000n], [500_001n, 500_000n]],
  ])("%s over %s", (total, weights, expected) => {
    const shares = apportion(total, weights);
    expect(shares).toEqual(expected);
    expect(shares.reduce((a, b) => a + b, 0n)).toBe(total);
  });
  it("splits a read that crosses hours by its time in each", () => {
    const start = Date.parse("2026-11-01T00:45:00Z");
    expect(hoursOf(start, start + 30 * 60_000).map((h) => h.ms)).toEqual([15 * 60_000, 15 * 60_000]);
  });
});

describe("target addresses", () => {
  it.each([
    ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8", true, null],
    ["0x70997970c51812dc3a010c7d01b50e0d17dc79c8", true, null],
    ["0x70997970C51812dc3A010C7d01b50e0d17dc79c8", false, /checksum/],
    ["0x0000000000000000000000000000000000000000", false, /zero/],
  ] as const)("%s", (raw, ok, reason) => {
    const result = checkTargetAddress(raw);
    expect(result.ok).toBe(ok);
    if (!result.ok) expect(result.reason).toMatch(reason!);
  });
});

describe("the reads' root hash", () => {
  const read = (readId: string, contentHash: string) => ({
    readId,
    version: 1,
    contentHash,
    start: "2026-11-01T00:00:00.000Z",
    end: "2026-11-01T00:30:00.000Z",
    energyWh: 10,
    late: false,
  });
  const leaf = (deviceId: string, readId: string, contentHash: string) =>
    keccak256(toUtf8Bytes(canonicalJson({ deviceId, readId, version: 1, contentHash })));
  // biome-ignore lint/suspicious/noExplicitAny: only the fields the root hash reads
  const contribution = (deviceId: string, reads: ReturnType<typeof read>[]) => ({ deviceId, reads }) as any;
  const a = "a".repeat(64);
  const b = "b".repeat(64);
  it("is the leaf of a single read (device, read id, version, content hash)", () => {
    expect(readsRootHash([contribution("dev-1", [read("r1", a)])])).toBe(leaf("dev-1", "r1", a));
  });
  it("hashes two reads' leaves in sorted order, whatever the order of the reads", () => {
    const [x, y] = [leaf("dev-1", "r1", a), leaf("dev-2", "r2", b)].sort();
    const expected = keccak256(concat([x!, y!]));
    expect(
      readsRootHash([contribution("dev-1", [read("r1", a)]), contribution("dev-2", [read("r2", b)])]),
    ).toBe(expected);
    expect(
      readsRootHash([contribution("dev-2", [read("r2", b)]), contribution("dev-1", [read("r1", a)])]),
    ).toBe(expected);
  });
  it("changes when a read's content changes", () => {
    expect(readsRootHash([contribution("dev-1", [read("r1", a)])])).not.toBe(
      readsRootHash([contribution("dev-1", [read("r1", b)])]),
    );
  });
});

describe("the document's device group (pure rules)", () => {
  const buyerAddress = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
  const withDevices = (changes: Array<Partial<IssuanceRequest["contributions"][number]>>) => {
    const request = issuanceRequest({ buyerAddress, energyPerDeviceWh: changes.map(() => 1_000) });
    request.contributions = request.contributions.map((c, i) => ({ ...c, ...changes[i] }));
    return buildDocument(request, "00000000-0000-4000-8000-000000000000").deviceGroup;
  };
  it("keeps off-takers null unless one is given, then lists them (distinct, sorted)", () => {
    expect(withDevices([{}, {}]).offTakers).toBeNull();
    expect(
      withDevices([{ offTaker: "School" }, { offTaker: "Hospital" }, { offTaker: "School" }]).offTakers,
    ).toEqual(["Hospital", "School"]);
  });
  it.each([
    [[true, true], true],
    [[true, false], false],
    [[true, null], null],
  ] as const)("grid interconnection %s → %s", (grid, expected) => {
    expect(withDevices(grid.map((g) => ({ gridInterconnection: g }))).gridInterconnection).toBe(expected);
  });
  it("gives the commissioning dates' range, the capacities' sum and the distinct type codes", () => {
    const group = withDevices([
      { commissioningDate: "2023-05-01", capacityW: 1_500, deviceTypeCode: "TC120" },
      { commissioningDate: null, capacityW: null, deviceTypeCode: "TC110" },
      { commissioningDate: "2019-01-31", capacityW: 2_500, deviceTypeCode: "TC120" },
    ]);
    expect(group.commissioningDateRange).toEqual(["2019-01-31", "2023-05-01"]);
    expect(group.aggregatedCapacity).toBe(4_000);
    expect(group.deviceTypeCodes).toEqual(["TC110", "TC120"]);
    expect(withDevices([{ commissioningDate: null }]).commissioningDateRange).toEqual([]);
  });
});
