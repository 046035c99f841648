import { describe, expect, it } from "vitest";
import { chargerTime, clockSkewMs, parseChargerTime } from "../src/domain/timestamps.ts";

describe("charger timestamps", () => {
  it.each([
    ["2026-12-01T10:00:00Z", "2026-12-01T10:00:00.000Z"],
    ["2026-12-01T10:00:00.123Z", "2026-12-01T10:00:00.123Z"],
    ["2026-12-01T10:00:00.123456Z", "2026-12-01T10:00:00.123Z"],
    ["2026-12-01T11:00:00+01:00", "2026-12-01T10:00:00.000Z"],
    ["2026-12-01T05:30:00-0430", "2026-12-01T10:00:00.000Z"],
    ["2026-12-01t10:00:00z", "2026-12-01T10:00:00.000Z"],
    ["1970-01-01T00:00:05Z", "1970-01-01T00:00:05.000Z"],
  ])("%s is %s", (text, iso) => {
    expect(parseChargerTime(text)?.toISOString()).toBe(iso);
  });

  it.each(["2026-12-01T10:00:00", "2026-02-30T10:00:00Z", "yesterday", "", "2026-13-01T00:00:00Z"])(
    "%s is not a valid date-time with a zone",
    (text) => {
      expect(parseChargerTime(text)).toBeNull();
    },
  );

  const received = new Date("2026-12-01T10:00:00Z");
  const tolerance = 300_000;
  it.each([
    ["a charger on time", "2026-12-01T10:00:01Z", null, "2026-12-01T10:00:01.000Z"],
    ["a message queued yesterday is not skew", "2026-11-30T10:00:00Z", null, "2026-11-30T10:00:00.000Z"],
    ["a clock ten minutes ahead is skewed", "2026-12-01T10:10:00Z", 600_000, "2026-12-01T10:00:00.000Z"],
    [
      "a charger that booted in 1970 is skewed",
      "1970-01-01T00:01:00Z",
      60_000 - received.getTime(),
      "2026-12-01T10:00:00.000Z",
    ],
  ])("%s", (_what, text, skew, effective) => {
    const time = chargerTime(text, received, tolerance);
    expect(time.skewMs).toBe(skew);
    expect(time.effective.toISOString()).toBe(effective);
    expect(time.chargerTime.toISOString()).toBe(new Date(text).toISOString());
  });

  it.each([
    ["2026-12-01T09:50:00Z", -600_000],
    ["2026-12-01T10:01:00Z", null],
    [undefined, null],
  ])("a clock that says %s now is off by %s ms", (text, skew) => {
    expect(clockSkewMs(text, received, tolerance)).toBe(skew);
  });
});
