import type { IssuanceFrequency } from "@energy/contracts";
import { describe, expect, it } from "vitest";
import { allWindows, closedWindows, periodStart, windowIndexOfReadEnd } from "../src/domain/windows.ts";

const d = (iso: string) => new Date(iso);
const iso = (w: { start: Date; end: Date }) => [w.start.toISOString(), w.end.toISOString()];

describe("issuance windows", () => {
  it.each<[string, IssuanceFrequency, string, string, string, string[][]]>([
    [
      "hourly, cut at a partial first and last hour",
      "hourly",
      "UTC",
      "2026-03-02T10:30:00.000Z",
      "2026-03-02T13:15:00.000Z",
      [
        ["2026-03-02T10:30:00.000Z", "2026-03-02T11:00:00.000Z"],
        ["2026-03-02T11:00:00.000Z", "2026-03-02T12:00:00.000Z"],
        ["2026-03-02T12:00:00.000Z", "2026-03-02T13:00:00.000Z"],
        ["2026-03-02T13:00:00.000Z", "2026-03-02T13:15:00.000Z"],
      ],
    ],
    [
      "daily in UTC",
      "daily",
      "UTC",
      "2026-03-01T06:00:00.000Z",
      "2026-03-03T00:00:00.000Z",
      [
        ["2026-03-01T06:00:00.000Z", "2026-03-02T00:00:00.000Z"],
        ["2026-03-02T00:00:00.000Z", "2026-03-03T00:00:00.000Z"],
      ],
    ],
    [
      "daily in Asia/Kolkata: local midnight is 18:30 UTC",
      "daily",
      "Asia/Kolkata",
      "2026-03-01T18:30:00.000Z",
      "2026-03-03T18:30:00.000Z",
      [
        ["2026-03-01T18:30:00.000Z", "2026-03-02T18:30:00.000Z"],
        ["2026-03-02T18:30:00.000Z", "2026-03-03T18:30:00.000Z"],
      ],
    ],
    [
      "hourly in Asia/Kolkata: hours start at :30 UTC",
      "hourly",
      "Asia/Kolkata",
      "2026-03-02T10:00:00.000Z",
      "2026-03-02T11:45:00.000Z",
      [
        ["2026-03-02T10:00:00.000Z", "2026-03-02T10:30:00.000Z"],
        ["2026-03-02T10:30:00.000Z", "2026-03-02T11:30:00.000Z"],
        ["2026-03-02T11:30:00.000Z", "2026-03-02T11:45:00.000Z"],
      ],
    ],
    [
      "weekly: weeks start on Monday (2026-03-04 is a Wednesday)",
      "weekly",
      "UTC",
      "2026-03-04T00:00:00.000Z",
      "2026-03-20T00:00:00.000Z",
      [
        ["2026-03-04T00:00:00.000Z", "2026-03-09T00:00:00.000Z"],
        ["2026-03-09T00:00:00.000Z", "2026-03-16T00:00:00.000Z"],
        ["2026-03-16T00:00:00.000Z", "2026-03-20T00:00:00.000Z"],
      ],
    ],
    [
      "monthly: calendar months of different lengths",
      "monthly",
      "UTC",
      "2026-01-15T00:00:00.000Z",
      "2026-03-10T00:00:00.000Z",
      [
        ["2026-01-15T00:00:00.000Z", "2026-02-01T00:00:00.000Z"],
        ["2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"],
        ["2026-03-01T00:00:00.000Z", "2026-03-10T00:00:00.000Z"],
      ],
    ],
    [
      "quarterly: calendar quarters",
      "quarterly",
      "UTC",
      "2026-02-10T00:00:00.000Z",
      "2026-10-02T00:00:00.000Z",
      [
        ["2026-02-10T00:00:00.000Z", "2026-04-01T00:00:00.000Z"],
        ["2026-04-01T00:00:00.000Z", "2026-07-01T00:00:00.000Z"],
        ["2026-07-01T00:00:00.000Z", "2026-10-01T00:00:00.000Z"],
        ["2026-10-01T00:00:00.000Z", "2026-10-02T00:00:00.000Z"],
      ],
    ],
    [
      "daily across a DST change in Europe/Stockholm (29 March has 23 hours)",
      "daily",
      "Europe/Stockholm",
      "2026-03-28T23:00:00.000Z",
      "2026-03-30T22:00:00.000Z",
      [
        ["2026-03-28T23:00:00.000Z", "2026-03-29T22:00:00.000Z"],
        ["2026-03-29T22:00:00.000Z", "2026-03-30T22:00:00.000Z"],
      ],
    ],
  ])("%s", (_what, frequency, timezone, start, end, expected) => {
    expect(allWindows({ start: d(start), end: d(end), frequency, timezone }).map(iso)).toEqual(expected);
  });

  it.each<[IssuanceFrequency, string, string]>([
    ["hourly", "2026-05-06T07:59:59.999Z", "2026-05-06T07:00:00.000Z"],
    ["daily", "2026-05-06T07:59:59.999Z", "2026-05-06T00:00:00.000Z"],
    ["weekly", "2026-05-10T23:00:00.000Z", "2026-05-04T00:00:00.000Z"],
    ["monthly", "2026-05-31T23:00:00.000Z", "2026-05-01T00:00:00.000Z"],
    ["quarterly", "2026-06-30T23:00:00.000Z", "2026-04-01T00:00:00.000Z"],
  ])("the %s period of %s starts at %s", (frequency, instant, start) => {
    expect(periodStart(d(instant), frequency, "UTC").toISOString()).toBe(start);
  });

  it("closes only the windows that have ended, from the cursor on", () => {
    const r = {
      start: d("2026-03-02T10:00:00Z"),
      end: d("2026-03-02T20:00:00Z"),
      frequency: "hourly" as const,
      timezone: "UTC",
    };
    expect(closedWindows(r, d("2026-03-02T12:00:00Z"), d("2026-03-02T14:30:00Z")).map(iso)).toEqual([
      ["2026-03-02T12:00:00.000Z", "2026-03-02T13:00:00.000Z"],
      ["2026-03-02T13:00:00.000Z", "2026-03-02T14:00:00.000Z"],
    ]);
    expect(closedWindows(r, r.start, d("2026-03-02T23:00:00Z"), 3)).toHaveLength(3);
  });

  it.each([
    ["a read ending at the window's end belongs to it", "2026-03-02T11:00:00Z", 0],
    ["a read ending just after a window's start belongs to it", "2026-03-02T11:00:00.001Z", 1],
    ["a read ending at the first window's start belongs to none", "2026-03-02T10:00:00Z", -1],
    ["a read ending after the last window belongs to none", "2026-03-02T12:00:01Z", -1],
  ])("%s", (_what, end, index) => {
    const windows = allWindows({
      start: d("2026-03-02T10:00:00Z"),
      end: d("2026-03-02T12:00:00Z"),
      frequency: "hourly",
      timezone: "UTC",
    });
    expect(windowIndexOfReadEnd(windows, d(end))).toBe(index);
  });
});
