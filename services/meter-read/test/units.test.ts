import { describe, expect, it } from "vitest";
import { type EnergyUnit, toWholeWh } from "../src/domain/units.ts";

describe("toWholeWh", () => {
  it.each<[number, EnergyUnit, number]>([
    [0, "Wh", 0],
    [10_000_000, "Wh", 10_000_000],
    [1.001, "kWh", 1001],
    [1.234, "kWh", 1234],
    [0.001, "kWh", 1],
    [2.5, "MWh", 2_500_000],
    [0.000001, "MWh", 1],
    [1e21 / 1e12, "Wh", 1e9],
    [123456.789, "kWh", 123_456_789],
    [-3, "kWh", -3000],
  ])("%s %s is %s Wh", (value, unit, wh) => {
    expect(toWholeWh(value, unit)).toEqual({ ok: true, wh });
  });

  it.each<[number, EnergyUnit]>([
    [0.5, "Wh"],
    [1.0005, "kWh"],
    [0.0000001, "MWh"],
    [Number.NaN, "Wh"],
    [Number.POSITIVE_INFINITY, "kWh"],
    [1e16, "MWh"],
  ])("refuses %s %s", (value, unit) => {
    expect(toWholeWh(value, unit).ok).toBe(false);
  });
});
