import { describe, expect, it } from "vitest";
import { type CountedRead, findEventSchema, MAX_READS_PER_MESSAGE, topics } from "../src/index.ts";

const read: CountedRead = {
  readId: "mrd-0001",
  version: 1,
  readType: "history",
  source: "api",
  start: "2026-01-01T00:00:00.000Z",
  end: "2026-01-02T00:00:00.000Z",
  energyWh: 12_345,
  valueWh: 12_345,
  eligible: true,
  flags: [],
  contentHash: "a".repeat(64),
  recordedAt: "2026-01-02T00:05:00.000Z",
};

describe("meter-read.read.v1", () => {
  const recorded = topics.meterReadRead.events["reads.recorded"];
  const corrected = topics.meterReadRead.events["reads.corrected"];

  it("carries a device's counted reads in one message", () => {
    expect(findEventSchema("meter-read.read.v1", "reads.recorded")).toBe(recorded);
    expect(recorded.safeParse({ deviceId: "dev-1", orgId: "org-1", reads: [read] }).success).toBe(true);
  });

  it.each([
    ["fractional energy", { energyWh: 1.5 }, "energyWh"],
    ["negative energy", { energyWh: -1 }, "energyWh"],
    ["a short hash", { contentHash: "abc" }, "contentHash"],
    ["an unknown source", { source: "csv" }, "source"],
    ["an unknown flag", { flags: ["late"] }, "flags"],
  ])("refuses %s", (_what, change, field) => {
    const result = recorded.safeParse({ deviceId: "dev-1", orgId: "org-1", reads: [{ ...read, ...change }] });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toContain(field);
  });

  it("refuses an empty message and one above the batch limit", () => {
    expect(recorded.safeParse({ deviceId: "dev-1", orgId: "org-1", reads: [] }).success).toBe(false);
    const many = Array.from({ length: MAX_READS_PER_MESSAGE + 1 }, () => read);
    expect(recorded.safeParse({ deviceId: "dev-1", orgId: "org-1", reads: many }).success).toBe(false);
  });

  it("a correction names the version and energy it replaces", () => {
    const next = {
      ...read,
      version: 2,
      energyWh: 12_000,
      previousEnergyWh: 12_345,
      previousContentHash: "b".repeat(64),
    };
    expect(corrected.safeParse({ deviceId: "dev-1", orgId: "org-1", reads: [next] }).success).toBe(true);
    expect(
      corrected.safeParse({ deviceId: "dev-1", orgId: "org-1", reads: [{ ...next, version: 1 }] }).success,
    ).toBe(false);
  });
});
