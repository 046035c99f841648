import { describe, expect, it } from "vitest";
import { checkSwitch, type SourceLog, sourceAt, sourceMismatch } from "../src/domain/read-source.ts";

// One source per device at a time: which source is in force when, which reads it refuses, and which
// switches may be made.

const at = (iso: string) => Date.parse(iso);
const T1 = at("2026-06-01T00:00:00Z");
const T2 = at("2026-09-01T00:00:00Z");
const none: SourceLog = { initial: null, switches: [] };
const api: SourceLog = { initial: "api", switches: [] };
const switched: SourceLog = { initial: "api", switches: [{ fromMs: T1, source: "telemetry" }] };
const back: SourceLog = {
  initial: "api",
  switches: [
    { fromMs: T1, source: "telemetry" },
    { fromMs: T2, source: "api" },
  ],
};

describe("the source in force", () => {
  it.each<[string, SourceLog, string, string | null]>([
    ["none before the first read", none, "2026-01-01T00:00:00Z", null],
    ["the first read's before any switch", api, "2026-01-01T00:00:00Z", "api"],
    ["the old source just before the switch", switched, "2026-05-31T23:59:59.999Z", "api"],
    ["the new source from the switch on", switched, "2026-06-01T00:00:00Z", "telemetry"],
    ["each switch until the next", back, "2026-08-01T00:00:00Z", "telemetry"],
    ["the last switch after it", back, "2026-10-01T00:00:00Z", "api"],
  ])("%s", (_, log, time, expected) => {
    expect(sourceAt(log, at(time))).toBe(expected);
  });
});

describe("which reads are refused", () => {
  it.each<[string, SourceLog, "api" | "telemetry", string, string, RegExp | null]>([
    ["any source while the device has none", none, "telemetry", "2026-01-01T00:00", "2026-01-01T01:00", null],
    ["the other source", api, "telemetry", "2026-01-01T00:00", "2026-01-01T01:00", /come from api/],
    ["the old source before the switch", switched, "api", "2026-05-31T23:00", "2026-06-01T00:00", null],
    ["the old source after it", switched, "api", "2026-06-01T00:00", "2026-06-01T01:00", /from telemetry/],
    ["the new source after it", switched, "telemetry", "2026-06-01T00:00", "2026-06-01T01:00", null],
    ["the new source before it", switched, "telemetry", "2026-05-31T23:00", "2026-06-01T00:00", /from api/],
    ["a period across the switch", switched, "api", "2026-05-31T23:00", "2026-06-01T01:00", /crosses/],
    [
      "a starting point at the switch, new source",
      switched,
      "telemetry",
      "2026-06-01T00:00",
      "2026-06-01T00:00",
      null,
    ],
    [
      "the first source again after switching back",
      back,
      "api",
      "2026-09-02T00:00",
      "2026-09-02T01:00",
      null,
    ],
  ])("%s", (_, log, source, start, end, refusal) => {
    const why = sourceMismatch(log, source, at(`${start}Z`), at(`${end}Z`));
    if (refusal === null) expect(why).toBeNull();
    else expect(why).toMatch(refusal);
  });
});

describe("which switches may be made", () => {
  const LATEST = at("2026-05-20T00:00:00Z");
  it.each<[string, SourceLog, number | null, "api" | "telemetry", number, string]>([
    ["to the other source after the latest read", api, LATEST, "telemetry", T1, "ok"],
    ["at the end of the latest read", api, LATEST, "telemetry", LATEST, "ok"],
    ["a device without reads", none, null, "telemetry", T1, "ok"],
    ["into a stored read's period", api, LATEST, "telemetry", LATEST - 1, "switch_before_stored_read"],
    ["to the source already in force", api, LATEST, "api", T1, "source_unchanged"],
    ["before the last switch", switched, LATEST, "api", T1 - 1000, "switch_not_after_last_switch"],
    [
      "at the last switch's time to another source",
      switched,
      LATEST,
      "api",
      T1,
      "switch_not_after_last_switch",
    ],
    ["back after the last switch", switched, LATEST, "api", T2, "ok"],
    ["the same switch again", switched, LATEST, "telemetry", T1, "same"],
  ])("%s", (_, log, latest, source, from, expected) => {
    const verdict = checkSwitch(log, latest, source, from);
    const outcome = verdict.ok ? (verdict.same ? "same" : "ok") : verdict.code;
    expect(outcome).toBe(expected);
  });
});
