import { describe, expect, it } from "vitest";
import { periodSpans } from "../src/domain/periods.ts";

const iso = (ms: number) => new Date(ms).toISOString();
const at = Date.parse;

describe("periodSpans", () => {
  it.each<[string, "week" | "month" | "year", string, string, string, string[][]]>([
    [
      "months in Stockholm across the end of summer time",
      "month",
      "Europe/Stockholm",
      "2026-09-15T00:00:00Z",
      "2026-11-10T00:00:00Z",
      [
        [
          "2026-08-31T22:00:00.000Z",
          "2026-09-15T00:00:00.000Z",
          "2026-09-30T22:00:00.000Z",
          "2026-09-15T00:00:00.000Z",
          "2026-09-30T00:00:00.000Z",
        ],
        [
          "2026-09-30T22:00:00.000Z",
          "2026-09-30T22:00:00.000Z",
          "2026-10-31T23:00:00.000Z",
          "2026-10-01T00:00:00.000Z",
          "2026-10-31T00:00:00.000Z",
        ],
        [
          "2026-10-31T23:00:00.000Z",
          "2026-10-31T23:00:00.000Z",
          "2026-11-10T00:00:00.000Z",
          "2026-11-01T00:00:00.000Z",
          "2026-11-10T00:00:00.000Z",
        ],
      ],
    ],
    [
      "weeks start on Monday",
      "week",
      "UTC",
      "2026-11-04T12:00:00Z",
      "2026-11-10T00:00:00Z",
      [
        [
          "2026-11-02T00:00:00.000Z",
          "2026-11-04T12:00:00.000Z",
          "2026-11-09T00:00:00.000Z",
          "2026-11-05T00:00:00.000Z",
          "2026-11-09T00:00:00.000Z",
        ],
        [
          "2026-11-09T00:00:00.000Z",
          "2026-11-09T00:00:00.000Z",
          "2026-11-10T00:00:00.000Z",
          "2026-11-09T00:00:00.000Z",
          "2026-11-10T00:00:00.000Z",
        ],
      ],
    ],
    [
      "a span without a whole UTC day reads everything from the reads",
      "year",
      "Asia/Tokyo",
      "2026-12-31T16:00:00Z",
      "2026-12-31T20:00:00Z",
      [
        [
          "2026-12-31T15:00:00.000Z",
          "2026-12-31T16:00:00.000Z",
          "2026-12-31T20:00:00.000Z",
          "2026-12-31T20:00:00.000Z",
          "2026-12-31T20:00:00.000Z",
        ],
      ],
    ],
  ])("%s", (_what, period, tz, from, to, expected) => {
    const spans = periodSpans(period, tz, at(from), at(to));
    expect(
      spans.map((s) => [iso(s.startMs), iso(s.fromMs), iso(s.toMs), iso(s.daysFromMs), iso(s.daysToMs)]),
    ).toEqual(expected);
  });
});
