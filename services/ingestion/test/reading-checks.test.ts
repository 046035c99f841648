import { describe, expect, it } from "vitest";
import { checkReading } from "../src/domain/reading-checks.ts";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const window = { earliestMs: Date.parse("2000-01-01T00:00:00Z"), futureToleranceMs: 300_000 };
const pv = (fields: Record<string, unknown>) => ({ type: "pv", timestamp: NOW - 1_000, ...fields });

describe("what ingestion accepts is what its store can hold", () => {
  const refused: Array<[string, unknown, string, string]> = [
    ['a make with a NUL ("De\\u0000ye")', pv({ make: "De\u0000ye" }), "reading.make", "NUL"],
    ["a make with a lone high surrogate", pv({ make: "De\ud800ye" }), "reading.make", "lone surrogate"],
    ["a make with a lone low surrogate", pv({ make: "\udc00" }), "reading.make", "lone surrogate"],
    ["a 900 kB make", pv({ make: "x".repeat(900_000) }), "reading.make", "at most 200 characters"],
    [
      "a charger status with a NUL",
      { type: "ev_charger_port", timestamp: NOW, status: "Charging\u0000" },
      "reading.status",
      "NUL",
    ],
    [
      "a 300-character V2X protocol",
      { type: "v2x_charger", timestamp: NOW, protocol: "p".repeat(300) },
      "reading.protocol",
      "at most 200",
    ],
    [
      "17 power bands",
      {
        type: "ev_charger_port",
        timestamp: NOW,
        lower_limit_W: Array.from({ length: 17 }, (_, i) => i * 10),
        upper_limit_W: Array.from({ length: 17 }, (_, i) => i * 10 + 5),
      },
      "reading.upper_limit_W",
      "at most 16",
    ],
    ["a reading at the epoch", pv({ timestamp: 0 }), "reading.timestamp", "before 2000-01-01T00:00:00.000Z"],
    ["a reading of 1999", pv({ timestamp: window.earliestMs - 1 }), "reading.timestamp", "before 2000"],
    [
      "a reading 6 minutes ahead",
      pv({ timestamp: NOW + 360_000 }),
      "reading.timestamp",
      "360 s in the future",
    ],
  ];
  it.each(refused)("refuses %s, naming the field", (_what, reading, field, words) => {
    const check = checkReading(reading, NOW, window);
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.reasons).toContainEqual({ field, message: expect.stringContaining(words) });
  });

  const accepted: Array<[string, unknown]> = [
    ["a make with an emoji (a surrogate pair)", pv({ make: "Deye 😀" })],
    ["a make of exactly 200 characters", pv({ make: "m".repeat(200) })],
    ["a reading at the earliest time", pv({ timestamp: window.earliestMs })],
    ["a reading 5 minutes ahead", pv({ timestamp: NOW + 300_000 })],
  ];
  it.each(accepted)("accepts %s", (_what, reading) => {
    expect(checkReading(reading, NOW, window).ok).toBe(true);
  });

  it("accepts a reading normalized (V2X W from dc_W)", () => {
    const check = checkReading({ type: "v2x_charger", timestamp: NOW, dc_W: 1000 }, NOW, window);
    expect(check).toEqual({ ok: true, reading: { type: "v2x_charger", timestamp: NOW, dc_W: 1000, W: 950 } });
  });
});
