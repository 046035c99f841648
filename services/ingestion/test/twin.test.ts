import type { TelemetryReading } from "@energy/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mergeNewest, type TwinFields } from "../src/domain/twin.ts";

// The store moves a DER's twin over a whole chunk of its readings at once (mergeNewest). It must end where
// merging them one at a time, oldest first, ends: the rule of one reading, written out here.

const NOT_STATE = new Set(["type", "timestamp", "read_time_ms"]);

/** One reading merged into the twin: each field it read replaces the twin's unless the twin's is newer. */
function mergeOne(next: TwinFields, reading: TelemetryReading): TwinFields {
  const at = new Date(reading.timestamp).toISOString();
  for (const [name, value] of Object.entries(reading)) {
    if (value === null || value === undefined || NOT_STATE.has(name)) continue;
    const known = next[name];
    if (known && known.at > at) continue;
    next[name] = { value, at };
  }
  return next;
}

const T0 = Date.parse("2026-12-01T00:00:00Z");
// few times and fields, so that equal times, fields left unread and a twin newer than a reading all happen
const time = fc.integer({ min: 0, max: 8 }).map((s) => T0 + s * 1000);
const value = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constant(null), fc.constant(undefined));
const reading = fc.record({
  timestamp: time,
  W: value,
  V: value,
  total_charge_Wh: value,
  read_time_ms: fc.integer({ min: 0, max: 9 }),
});
const twin = fc.dictionary(
  fc.constantFrom("W", "V", "total_charge_Wh", "A"),
  fc.record({ value: fc.integer(), at: time.map((t) => new Date(t).toISOString()) }),
);

describe("a twin moved over a chunk of readings", () => {
  it("ends as merging the readings one by one, oldest first (seeded, 500 runs)", () => {
    fc.assert(
      fc.property(twin, fc.array(reading, { maxLength: 12 }), (fields, raw) => {
        // in time order, as the store sorts a DER's readings (stable: equal times keep their order)
        const readings = raw
          .map((r) => ({ type: "battery", ...r }) as TelemetryReading)
          .sort((a, b) => a.timestamp - b.timestamp);
        const expected = readings.reduce(mergeOne, structuredClone(fields));
        expect(mergeNewest(structuredClone(fields), readings)).toEqual(expected);
      }),
      { seed: 20261203, numRuns: 500 },
    );
  });

  it("keeps a field the readings did not read, and a newer value the twin holds", () => {
    const twinFields: TwinFields = {
      V: { value: 230, at: "2026-12-01T00:00:00.000Z" },
      W: { value: 7, at: "2026-12-01T00:10:00.000Z" },
    };
    const readings = [
      { type: "battery", timestamp: T0 + 60_000, W: 1, V: null },
      { type: "battery", timestamp: T0 + 120_000, W: 2, total_charge_Wh: 10 },
    ] as TelemetryReading[];
    expect(mergeNewest(twinFields, readings)).toEqual({
      V: { value: 230, at: "2026-12-01T00:00:00.000Z" },
      W: { value: 7, at: "2026-12-01T00:10:00.000Z" },
      total_charge_Wh: { value: 10, at: "2026-12-01T00:02:00.000Z" },
    });
  });
});
