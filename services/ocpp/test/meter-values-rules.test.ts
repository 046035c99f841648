import { describe, expect, it } from "vitest";
import { parseSampledValues, type RawSampledValue } from "../src/domain/meter-values.ts";

type Case = [string, "1.6" | "2.0.1", RawSampledValue[], Record<string, unknown>];

describe("meter values → the seed's fields", () => {
  it.each<Case>([
    ["no measurand means the energy register (in Wh)", "1.6", [{ value: "1234" }], { energyImportWh: 1234 }],
    [
      "kWh is scaled to Wh",
      "1.6",
      [{ value: "12.5", unit: "kWh", measurand: "Energy.Active.Import.Register" }],
      { energyImportWh: 12_500 },
    ],
    [
      "kW is scaled to W",
      "1.6",
      [{ value: "7.4", unit: "kW", measurand: "Power.Active.Import" }],
      { powerW: 7400 },
    ],
    [
      "2.0.1 unit and multiplier",
      "2.0.1",
      [
        {
          value: 3.2,
          measurand: "Energy.Active.Import.Register",
          unitOfMeasure: { unit: "Wh", multiplier: 3 },
        },
      ],
      { energyImportWh: 3200 },
    ],
    [
      "per-phase power is summed when no total is sent",
      "1.6",
      [
        { value: "1000", measurand: "Power.Active.Import", phase: "L1" },
        { value: "1100", measurand: "Power.Active.Import", phase: "L2" },
        { value: "900", measurand: "Power.Active.Import", phase: "L3" },
      ],
      { powerW: 3000 },
    ],
    [
      "phases of voltage and current (L1-N is L1)",
      "1.6",
      [
        { value: "230", measurand: "Voltage", phase: "L1-N" },
        { value: "231", measurand: "Voltage", phase: "L2-N" },
        { value: "16", measurand: "Current.Import", phase: "L3" },
      ],
      { voltage: { L1: 230, L2: 231 }, current: { L3: 16 } },
    ],
    [
      "the context of the sample",
      "1.6",
      [{ value: "5", context: "Transaction.Begin" }],
      { context: "Transaction.Begin" },
    ],
    ["a clock-aligned sample", "2.0.1", [{ value: 5, context: "Sample.Clock" }], { context: "Sample.Clock" }],
    [
      "SoC in percent is a fraction",
      "2.0.1",
      [{ value: 55, measurand: "SoC", location: "EV" }],
      { soc: 0.55 },
    ],
    [
      "export power is negative",
      "2.0.1",
      [{ value: 2000, measurand: "Power.Active.Export" }],
      { powerW: -2000 },
    ],
  ])("%s", (_what, version, values, expected) => {
    expect(parseSampledValues(version, values)).toMatchObject(expected);
  });

  it.each<[string, RawSampledValue[], string[]]>([
    [
      "a value that is not a number is skipped, not 0",
      [{ value: "n/a", measurand: "Power.Active.Import" }],
      ["powerW", "energyImportWh"],
    ],
    ["signed data is not read", [{ value: "AbCd==", format: "SignedData" }], ["energyImportWh"]],
    [
      "a missing register leaves the counter unknown",
      [{ value: "7000", measurand: "Power.Active.Import" }],
      ["energyImportWh"],
    ],
    ["a missing power measurand is not 0 W", [{ value: "100" }], ["powerW"]],
    [
      "an energy value at the EV is not the charger's register",
      [{ value: "100", location: "EV" }],
      ["energyImportWh"],
    ],
    [
      "an unknown unit is not guessed",
      [{ value: "1", unit: "Celsius", measurand: "Power.Active.Import" }],
      ["powerW"],
    ],
  ])("%s", (_what, values, absent) => {
    const sample = parseSampledValues("1.6", values);
    for (const field of absent) expect(sample).not.toHaveProperty(field);
  });
});
