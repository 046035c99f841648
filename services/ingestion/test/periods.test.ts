import { describe, expect, it } from "vitest";
import {
  addDays,
  addMonths,
  calendarRange,
  isCalendarDate,
  parseWithin,
  timeWindow,
  todayIn,
} from "../src/domain/periods.ts";

const H = 3_600_000;
const D = 24 * H;

describe("within", () => {
  it.each([
    ["30m", 30 * 60_000],
    ["6h", 6 * H],
    ["24h", D],
    ["7d", 7 * D],
    ["90d", 90 * D],
  ])("%s is %d ms", (text, ms) => {
    expect(parseWithin(text)).toEqual({ ok: true, value: ms });
  });
  it.each([["0h"], ["91d"], ["2w"], ["-1h"], ["1.5h"], ["h"], [""]])(
    "%j is refused, naming within",
    (text) => {
      const parsed = parseWithin(text);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok)
        expect(parsed.problem).toMatchObject({ field: "within", message: expect.stringContaining("within") });
    },
  );
});

describe("a window of instants", () => {
  const now = Date.parse("2026-11-24T12:00:00Z");
  it.each([
    ["nothing given: the last 24 hours", {}, { from: now - D, to: now }],
    [
      "only to: the 24 hours before it",
      { to: "2026-11-20T00:00:00Z" },
      { from: Date.parse("2026-11-19T00:00:00Z"), to: Date.parse("2026-11-20T00:00:00Z") },
    ],
    [
      "only from: from it to now",
      { from: "2026-11-20T00:00:00Z" },
      { from: Date.parse("2026-11-20T00:00:00Z"), to: now },
    ],
    [
      "an offset is understood",
      { from: "2026-11-24T10:00:00+02:00", to: "2026-11-24T09:00:00Z" },
      { from: Date.parse("2026-11-24T08:00:00Z"), to: Date.parse("2026-11-24T09:00:00Z") },
    ],
    [
      "exactly 31 days",
      { from: "2026-10-01T00:00:00Z", to: "2026-11-01T00:00:00Z" },
      { from: Date.parse("2026-10-01T00:00:00Z"), to: Date.parse("2026-11-01T00:00:00Z") },
    ],
  ])("%s", (_what, query, value) => {
    expect(timeWindow(query, now)).toEqual({ ok: true, value });
  });
  it.each([
    ["to before from", { from: "2026-11-02T00:00:00Z", to: "2026-11-01T00:00:00Z" }, "to"],
    ["to equal to from", { from: "2026-11-01T00:00:00Z", to: "2026-11-01T00:00:00Z" }, "to"],
    ["from after now (to defaults to now)", { from: "2026-11-25T00:00:00Z" }, "from"],
    ["32 days", { from: "2026-10-01T00:00:00Z", to: "2026-11-02T00:00:00Z" }, "to"],
    ["from 40 days ago up to now", { from: "2026-10-15T00:00:00Z" }, "from"],
  ])("refuses %s, naming %s", (_what, query, field) => {
    const window = timeWindow(query, now);
    expect(window.ok).toBe(false);
    if (!window.ok) expect(window.problem.field).toBe(field);
  });
});

describe("calendar dates", () => {
  it.each([
    ["2026-02-28", true],
    ["2028-02-29", true],
    ["2026-02-29", false],
    ["2026-13-01", false],
    ["2026-1-01", false],
    ["yesterday", false],
  ])("%s is a date: %s", (text, ok) => {
    expect(isCalendarDate(text)).toBe(ok);
  });
  it("adds days and months across years", () => {
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
    expect(addMonths("2026-12-15", 1)).toBe("2027-01-01");
    expect(addMonths("2026-01-31", -11)).toBe("2025-02-01");
  });
  it("knows today in a zone: Auckland is a day ahead of UTC in the evening, Los Angeles behind in the morning", () => {
    expect(todayIn("Pacific/Auckland", Date.parse("2026-11-23T20:00:00Z"))).toBe("2026-11-24");
    expect(todayIn("America/Los_Angeles", Date.parse("2026-11-24T05:00:00Z"))).toBe("2026-11-23");
    expect(todayIn("UTC", Date.parse("2026-11-24T05:00:00Z"))).toBe("2026-11-24");
  });
});

describe("a rollup's calendar range", () => {
  const today = "2026-11-24";
  it.each([
    [
      "days by default: 31 days up to today",
      { granularity: "day" as const },
      { from: "2026-10-25", to: today, until: "2026-11-25" },
    ],
    [
      "one day",
      { granularity: "day" as const, from: "2026-11-01", to: "2026-11-01" },
      { from: "2026-11-01", to: "2026-11-01", until: "2026-11-02" },
    ],
    [
      "months by default: 12 months up to this one",
      { granularity: "month" as const },
      { from: "2025-12-01", to: "2026-11-30", until: "2026-12-01" },
    ],
    [
      "months cover whole months",
      { granularity: "month" as const, from: "2026-02-15", to: "2026-03-03" },
      { from: "2026-02-01", to: "2026-03-31", until: "2026-04-01" },
    ],
  ])("%s", (_what, query, value) => {
    expect(calendarRange(query, today)).toEqual({ ok: true, value });
  });
  it.each([
    ["a date that does not exist", { granularity: "day" as const, from: "2026-02-30" }, "from"],
    ["to before from", { granularity: "day" as const, from: "2026-11-02", to: "2026-11-01" }, "to"],
    ["from after today", { granularity: "day" as const, from: "2026-12-01" }, "from"],
    ["367 days", { granularity: "day" as const, from: "2025-01-01", to: "2026-01-02" }, "to"],
    ["37 months", { granularity: "month" as const, from: "2023-01-01", to: "2026-01-01" }, "to"],
    ["months, to before from", { granularity: "month" as const, from: "2026-03-15", to: "2026-03-10" }, "to"],
  ])("refuses %s, naming %s", (_what, query, field) => {
    const range = calendarRange(query, today);
    expect(range.ok).toBe(false);
    if (!range.ok) expect(range.problem.field).toBe(field);
  });
});
