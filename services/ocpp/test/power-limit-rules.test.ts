import { powerLimitIssues } from "@energy/contracts";
import { describe, expect, it } from "vitest";
import { connectorNumberOf, derForConnector } from "../src/domain/connector-der.ts";
import { type BandInput, powerBands } from "../src/domain/power-limits.ts";

const base: BandInput = {
  connectorStatus: "occupied",
  ratedPowerW: 11_000,
  minChargeW: 1_380,
  limitW: null,
  bidirectional: false,
};

describe("power bands of a connector", () => {
  it.each<[string, Partial<BandInput>, number[], number[]]>([
    ["AC charger, no limit: idle and the rated charge band", {}, [0, 11_000], [0, 1_380]],
    ["a limit lowers the top of the charge band", { limitW: 7_400 }, [0, 7_400], [0, 1_380]],
    ["a limit above the rating changes nothing", { limitW: 22_000 }, [0, 11_000], [0, 1_380]],
    ["a limit below the lowest charge power: only 0 W", { limitW: 1_000 }, [0], [0]],
    ["a limit of 0: only 0 W", { limitW: 0 }, [0], [0]],
    ["faulted: collapsed", { connectorStatus: "faulted" }, [0], [0]],
    ["finishing: collapsed", { connectorStatus: "finishing" }, [0], [0]],
    ["unavailable: collapsed", { connectorStatus: "unavailable" }, [0], [0]],
    [
      "V2X: discharge, idle and charge bands",
      { bidirectional: true, ratedPowerW: 7_000, minChargeW: 500 },
      [-500, 0, 7_000],
      [-7_000, 0, 500],
    ],
  ])("%s", (_what, input, upper, lower) => {
    const bands = powerBands({ ...base, ...input });
    expect(bands).toEqual({ upper_limit_W: upper, lower_limit_W: lower });
    // and every result passes the telemetry model's own rules
    expect(powerLimitIssues(bands)).toEqual([]);
  });
});

describe("which DER a connector's readings go to", () => {
  it.each([
    ["ev-port-1", 1],
    ["Connector 2", 2],
    ["port_3 (rear)", 3],
    ["garage charger", null],
    ["port-0", null],
  ])("the connector number of %s is %s", (name, n) => {
    expect(connectorNumberOf(name)).toBe(n);
  });

  const ders = [
    { id: "der-b", name: "ev-port-2" },
    { id: "der-a", name: "ev-port-1" },
  ];
  it.each([
    [ders, 1, "der-a"],
    [ders, 2, "der-b"],
    [ders, 3, null],
    [[{ id: "der-x", name: "garage charger" }], 1, "der-x"],
    [[{ id: "der-x", name: "garage charger" }], 2, null],
  ])("%j, connector %s → %s", (list, connector, expected) => {
    expect(derForConnector(list, connector)?.id ?? null).toBe(expected);
  });
});
