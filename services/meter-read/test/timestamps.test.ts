import { describe, expect, it } from "vitest";
import { parseTimestamp } from "../src/domain/timestamps.ts";
import { offsetMs, startOfDate } from "../src/domain/zoned.ts";

describe("parseTimestamp", () => {
  it.each<[string, string | undefined, string]>([
    ["2020-01-01T00:00:00Z", undefined, "2020-01-01T00:00:00.000Z"],
    ["2020-01-01T00:00:00.5Z", undefined, "2020-01-01T00:00:00.500Z"],
    ["2020-01-01T05:30:00+05:30", undefined, "2020-01-01T00:00:00.000Z"],
    ["2019-12-31T19:00:00-05:00", undefined, "2020-01-01T00:00:00.000Z"],
    ["2020-01-01T00:00", "UTC", "2020-01-01T00:00:00.000Z"],
    ["2020-01-01T01:00:00", "Europe/Stockholm", "2020-01-01T00:00:00.000Z"],
    ["2020-07-01T02:00:00", "Europe/Stockholm", "2020-07-01T00:00:00.000Z"],
    ["2020-07-01T09:00:00", "Asia/Tokyo", "2020-07-01T00:00:00.000Z"],
    ["2020-01-01T00:00:00Z", "Asia/Tokyo", "2020-01-01T00:00:00.000Z"],
  ])("%s in %s is %s", (text, tz, iso) => {
    const parsed = parseTimestamp(text, tz);
    expect(parsed.ok && new Date(parsed.ms).toISOString()).toBe(iso);
  });

  it.each<[string, string | undefined, RegExp]>([
    ["yesterday", undefined, /not an ISO 8601/],
    ["2020-02-30T00:00:00Z", undefined, /not a valid/],
    ["2020-01-01T24:00:00Z", undefined, /not a valid/],
    ["2020-01-01T00:00:00", undefined, /no offset/],
    ["2020-01-01T00:00:00", "Mars/Olympus", /unknown time zone/],
    ["2020-01-01", undefined, /not an ISO 8601/],
  ])("refuses %s (%s)", (text, tz, message) => {
    const parsed = parseTimestamp(text, tz);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message).toMatch(message);
  });
});

describe("zones", () => {
  it.each([
    ["Europe/Stockholm", "2024-01-15T12:00:00Z", 3_600_000],
    ["Europe/Stockholm", "2024-07-15T12:00:00Z", 7_200_000],
    ["America/New_York", "2024-07-15T12:00:00Z", -4 * 3_600_000],
    ["UTC", "2024-07-15T12:00:00Z", 0],
  ])("%s is %s ms off UTC at %s", (tz, at, offset) => {
    expect(offsetMs(tz, Date.parse(at))).toBe(offset);
  });

  it.each([
    ["2020-07-01", "Asia/Tokyo", "2020-06-30T15:00:00.000Z"],
    ["2024-03-31", "Europe/Stockholm", "2024-03-30T23:00:00.000Z"],
    ["2024-04-01", "Europe/Stockholm", "2024-03-31T22:00:00.000Z"],
  ])("%s begins in %s at %s", (date, tz, iso) => {
    expect(new Date(startOfDate(date, tz)).toISOString()).toBe(iso);
  });
});

describe("parseTimestamp agrees with Date for the UTC forms it reads digit by digit", () => {
  it.each([
    "2020-01-01T00:00:00Z",
    "2020-01-01T00:00:00.000Z",
    "2024-02-29T23:59:59.999Z",
    "1999-12-31T12:34:56Z",
    "2026-11-30T07:05:09.042Z",
  ])("%s", (text) => {
    expect(parseTimestamp(text, undefined)).toEqual({ ok: true, ms: Date.parse(text) });
  });

  it.each([
    "2023-02-29T00:00:00Z",
    "2100-02-29T00:00:00Z",
    "2020-04-31T00:00:00.000Z",
    "2020-13-01T00:00:00Z",
    "2020-01-01T23:60:00Z",
    "2020-01-01T00:00:60Z",
    "2020-01-01T00:00:00,000Z",
    "2020-01-0xT00:00:00Z",
  ])("refuses %s", (text) => {
    expect(parseTimestamp(text, undefined).ok).toBe(false);
  });
});
