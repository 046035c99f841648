import { describe, expect, it } from "vitest";
import {
  type CounterPoint,
  INTERVAL_MS,
  intervalDeltas,
  MAX_SPREAD_MS,
  pairEnergy,
  splitPairs,
} from "../src/domain/intervals.ts";

const T0 = Date.parse("2026-11-23T10:00:00Z");
const min = (m: number) => T0 + m * 60_000;
const p = (minute: number, value: number): CounterPoint => ({ at: min(minute), value });
const byStart = (map: Map<number, number>) =>
  Object.fromEntries(
    [...map]
      .sort(([a], [b]) => a - b)
      .map(([start, wh]) => [new Date(start).toISOString().slice(11, 16), wh]),
  );

describe("pairEnergy", () => {
  it.each([
    ["a counter that went up", 100, 160, 60],
    ["a counter that did not move", 100, 100, 0],
    ["a counter reset to 0 and counting again (energy since the reset)", 5_000, 40, 40],
  ])("%s", (_what, from, to, energy) => {
    expect(pairEnergy({ at: 0, value: from }, { at: 1, value: to })).toBe(energy);
  });
});

describe("splitPairs", () => {
  it.each([
    ["two readings inside one half-hour", [p(5, 100), p(20, 130)], { "10:00": 30 }],
    ["a pair across a boundary, split by time", [p(20, 0), p(40, 100)], { "10:00": 50, "10:30": 50 }],
    [
      "a reading on the boundary belongs to the half-hour it ends",
      [p(0, 0), p(30, 60), p(45, 90)],
      { "10:00": 60, "10:30": 30 },
    ],
    [
      "a 2-hour gap spread over the half-hours it spans",
      [p(15, 0), p(135, 1_200)],
      { "10:00": 150, "10:30": 300, "11:00": 300, "11:30": 300, "12:00": 150 },
    ],
    ["a reset: the energy since it is the new value", [p(0, 500), p(10, 520), p(20, 15)], { "10:00": 35 }],
    ["a DER producing nothing still covers its half-hours", [p(25, 7), p(35, 7)], { "10:00": 0, "10:30": 0 }],
    ["one reading: no pair, no energy", [p(3, 10)], {}],
  ])("%s", (_what, points, expected) => {
    expect(byStart(splitPairs(points))).toEqual(expected);
  });

  it("a pair exactly MAX_SPREAD_MS apart is spread over its half-hours", () => {
    const split = splitPairs([p(0, 0), { at: min(0) + MAX_SPREAD_MS, value: 1_488 }]);
    expect(split.size).toBe(MAX_SPREAD_MS / INTERVAL_MS);
    expect(split.get(min(0))).toBeCloseTo(1, 9);
  });

  it("a pair further apart is not spread (a clock set to 2000 must not touch 455,000 half-hours)", () => {
    const year2000 = { at: Date.parse("2000-01-01T00:00:00Z"), value: 5 };
    expect(byStart(splitPairs([year2000, p(0, 900), p(20, 960)]))).toEqual({ "10:00": 60 });
    expect(splitPairs([p(0, 0), { at: min(0) + MAX_SPREAD_MS + 1, value: 1_488 }]).size).toBe(0);
  });

  it("the split parts add up to the counter difference", () => {
    const points = [p(7, 1_000), p(61, 1_500), p(62, 1_501), p(200, 9_999)];
    const total = [...splitPairs(points).values()].reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(9_999 - 1_000, 9);
  });
});

describe("intervalDeltas", () => {
  it("in order: the new pair's energy is added", () => {
    expect(byStart(intervalDeltas([p(10, 100)], [p(20, 150)]))).toEqual({ "10:00": 50 });
  });

  it("a first reading adds nothing (no pair yet)", () => {
    expect(byStart(intervalDeltas([], [p(20, 150)]))).toEqual({});
  });

  it("a late reading inside a gap moves energy between half-hours, the total stays", () => {
    // stored: 10:20 → 11:20 with 600 Wh spread by time (100 / 300 / 200); the late 10:30 reading says
    // 500 of it came before 10:30, the other 100 over the 50 minutes after (60 / 40)
    const deltas = intervalDeltas([p(20, 0), p(80, 600)], [p(30, 500)]);
    expect(byStart(deltas)).toEqual({ "10:00": 400, "10:30": -240, "11:00": -160 });
    expect([...deltas.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(0, 9);
  });

  it("a reading already stored (same time) changes nothing", () => {
    const deltas = intervalDeltas([p(20, 0), p(80, 600)], [p(80, 999)]);
    expect([...deltas.values()].every((wh) => wh === 0)).toBe(true);
  });

  it("readings before everything stored add their pair", () => {
    const deltas = byStart(intervalDeltas([p(40, 300)], [p(10, 100)]));
    expect(deltas["10:00"]).toBeCloseTo(200 * (20 / 30), 9);
    expect(deltas["10:30"]).toBeCloseTo(200 * (10 / 30), 9);
  });

  it("half-hours are 30 minutes on :00 and :30", () => {
    // 09:13 → 11:33 spreads 140 Wh, 1 Wh a minute: 17 / 30 / 30 / 30 / 30 / 3 on each half-hour it touches
    expect(byStart(splitPairs([p(-47, 0), p(93, 140)]))).toEqual({
      "09:00": 17,
      "09:30": 30,
      "10:00": 30,
      "10:30": 30,
      "11:00": 30,
      "11:30": 3,
    });
  });
});
