import { describe, expect, it } from "vitest";
import { type LivenessRecord, livenessChange, livenessDue } from "../src/domain/liveness.ts";

const MIN = 60_000;
const thresholds = { staleAfterMs: 5 * MIN, disconnectedAfterMs: 60 * MIN };
const NOW = Date.parse("2026-11-24T12:00:00Z");
const seen = (minutesAgo: number | null, state = "active", changedMinutesAgo = 600): LivenessRecord => ({
  state,
  lastSeenAt: minutesAgo === null ? null : NOW - minutesAgo * MIN,
  changedAt: NOW - changedMinutesAgo * MIN,
});

describe("the state a device's silence calls for", () => {
  const cases: Array<[string, LivenessRecord, string]> = [
    ["heard from a minute ago", seen(1), "active"],
    ["silent just under the stale time", seen(4.99), "active"],
    ["silent exactly the stale time", seen(5), "stale"],
    ["silent half an hour", seen(30), "stale"],
    ["silent exactly the disconnected time", seen(60), "disconnected"],
    ["silent a day", seen(24 * 60), "disconnected"],
    ["never heard from, state changed 2 minutes ago", seen(null, "active", 2), "active"],
    ["never heard from, state changed 2 hours ago", seen(null, "active", 120), "disconnected"],
  ];
  it.each(cases)("%s → %s", (_what, record, due) => {
    expect(livenessDue(record, NOW, thresholds)).toBe(due);
  });
});

describe("what a sweep changes", () => {
  const cases: Array<[string, LivenessRecord, string | null]> = [
    ["active and heard from recently: nothing", seen(1, "active"), null],
    ["active, silent past the stale time: stale", seen(10, "active"), "stale"],
    ["active, silent past both times: straight to disconnected", seen(90, "active"), "disconnected"],
    ["stale, still within the disconnected time: nothing", seen(10, "stale"), null],
    ["stale, silent past the disconnected time: disconnected", seen(61, "stale"), "disconnected"],
    ["disconnected: nothing (only a reading brings it back)", seen(600, "disconnected"), null],
    ["stale but heard from since (the reading sets active itself): nothing", seen(1, "stale"), null],
    ["a state liveness does not own: nothing", seen(600, "orphaned"), null],
    ["a state named like an object property: nothing", seen(600, "toString"), null],
  ];
  it.each(cases)("%s", (_what, record, to) => {
    expect(livenessChange(record, NOW, thresholds)).toBe(to);
  });
});
