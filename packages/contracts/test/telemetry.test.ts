import { describe, expect, it } from "vitest";
import { TelemetryReadingSchema, validateReading } from "../src/index.ts";
import {
  batteryExample,
  evChargerPortExample,
  meterExample,
  pvExample,
  T,
  v2xChargerExample,
  v2xPowerBands,
} from "./seed-examples.ts";

const examples = {
  pv: pvExample,
  battery: batteryExample,
  meter: meterExample,
  ev_charger_port: evChargerPortExample,
  v2x_charger: v2xChargerExample,
};

/** The seed example of `type`, with a timestamp and the given fields changed. */
function reading(type: keyof typeof examples, changes: Record<string, unknown> = {}) {
  return { ...examples[type], timestamp: T, ...changes };
}

function refusal(input: unknown) {
  const result = validateReading(input);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.reading)}`);
  return result.errors;
}

describe("seed examples of the data model", () => {
  it.each(Object.keys(examples) as (keyof typeof examples)[])("%s example is accepted as written", (type) => {
    const result = validateReading(reading(type));
    expect(result).toEqual({ ok: true, reading: reading(type) });
  });

  it("the V2X three-band power limits are accepted", () => {
    expect(validateReading(reading("v2x_charger", v2xPowerBands)).ok).toBe(true);
  });

  it("an example without a timestamp is refused naming timestamp", () => {
    expect(refusal(pvExample)).toEqual([{ field: "timestamp", message: "timestamp is required" }]);
  });
});

describe("only type and timestamp are required", () => {
  it.each(Object.keys(examples))("a bare %s reading is accepted", (type) => {
    expect(validateReading({ type, timestamp: T }).ok).toBe(true);
  });

  it.each(Object.keys(examples) as (keyof typeof examples)[])("%s: every field may be null", (type) => {
    const nulls = Object.fromEntries(Object.keys(examples[type]).map((key) => [key, null]));
    expect(validateReading({ ...nulls, type, timestamp: T }).ok).toBe(true);
  });

  it.each([
    [{ timestamp: T }, "type", "type must be one of pv, battery, meter, ev_charger_port, v2x_charger"],
    [
      { type: "solar", timestamp: T },
      "type",
      "type must be one of pv, battery, meter, ev_charger_port, v2x_charger",
    ],
    [{ type: "pv", timestamp: 1.5 }, "timestamp", "timestamp must be an integer"],
    [{ type: "pv", timestamp: -1 }, "timestamp", "timestamp must be >= 0 (ms since the Unix epoch)"],
    [{ type: "pv", timestamp: T, read_time_ms: -5 }, "read_time_ms", "read_time_ms must be >= 0"],
    ["not a reading", "reading", "reading must be a JSON object with a type field"],
  ])("%j is refused naming %s", (input, field, message) => {
    expect(refusal(input)).toEqual([{ field, message }]);
  });
});

// [type, changed fields, field named, words in the message]
const refused: [keyof typeof examples, Record<string, unknown>, string, string][] = [
  ["pv", { W: 100 }, "W", "W must be <= 0: PV generation is negative"],
  ["pv", { W: -1500.5 }, "W", "W must be an integer"],
  ["pv", { W: "-1500" }, "W", "W must be an integer"],
  ["pv", { rated_power_W: -3000 }, "rated_power_W", "rated_power_W must be >= 0"],
  ["pv", { rated_power_W: 3000.5 }, "rated_power_W", "rated_power_W must be an integer"],
  ["pv", { mppt1_V: "400V" }, "mppt1_V", "mppt1_V must be a finite number"],
  ["pv", { total_generation_Wh: -1 }, "total_generation_Wh", "must be >= 0"],
  ["pv", { total_generation_Wh: 15.5 }, "total_generation_Wh", "integer"],
  ["battery", { SoC_nom_fract: 75 }, "SoC_nom_fract", "SoC_nom_fract must be within 0..1"],
  ["battery", { SoC_nom_fract: -0.1 }, "SoC_nom_fract", "SoC_nom_fract must be within 0..1"],
  ["battery", { total_charge_Wh: -8000 }, "total_charge_Wh", ">= 0"],
  ["battery", { W: 500.5 }, "W", "W must be an integer"],
  ["meter", { Hz: "50" }, "Hz", "Hz must be a finite number"],
  ["meter", { total_export_Wh: -1 }, "total_export_Wh", ">= 0"],
  ["meter", { W: 1200.4 }, "W", "W must be an integer"],
  ["ev_charger_port", { W: -7200 }, "W", "W must be >= 0"],
  ["ev_charger_port", { connector_status: "Charging" }, "connector_status", "one of"],
  ["ev_charger_port", { charging_state: "on" }, "charging_state", "one of"],
  ["ev_charger_port", { session_id: 1.5 }, "session_id", "session_id must be an integer"],
  ["ev_charger_port", { session_id: "12345" }, "session_id", "must be an integer"],
  ["ev_charger_port", { plug_connected: "yes" }, "plug_connected", "true or false"],
  ["ev_charger_port", { session_charge_Wh: -5 }, "session_charge_Wh", ">= 0"],
  ["v2x_charger", { vehicle_soc_fract: 1.2 }, "vehicle_soc_fract", "within 0..1"],
  ["v2x_charger", { control_mode: "both" }, "control_mode", "control_mode must be one of"],
  ["v2x_charger", { dc_W: 5100.5 }, "dc_W", "dc_W must be an integer"],
  ["v2x_charger", { ev_min_energy_req_Wh: -1 }, "ev_min_energy_req_Wh", ">= 0"],
  ["v2x_charger", { total_discharge_Wh: -1 }, "total_discharge_Wh", ">= 0"],
];

describe("refused readings name the field", () => {
  it.each(refused)("%s %j is refused naming %s", (type, changes, field, words) => {
    const errors = refusal(reading(type, changes));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toEqual({ field, message: expect.stringContaining(words) });
    expect(errors[0]?.message.startsWith(field)).toBe(true);
  });

  it("every bad field is reported, not only the first", () => {
    const errors = refusal(reading("pv", { W: 100, total_generation_Wh: -1 }));
    expect(errors.map((e) => e.field)).toEqual(["W", "total_generation_Wh"]);
  });

  it.each([
    ["pv", "Infinity W", { W: Number.POSITIVE_INFINITY }, "W"],
    ["meter", "NaN voltage", { L1_V: Number.NaN }, "L1_V"],
  ] as const)("%s with %s is refused", (type, _what, changes, field) => {
    expect(refusal(reading(type, changes)).map((e) => e.field)).toEqual([field]);
  });
});

// [what, type, changed fields]
const accepted: [string, keyof typeof examples, Record<string, unknown>][] = [
  ["PV at night (0 W)", "pv", { W: 0 }],
  ["PV MPPT currents negative", "pv", { mppt1_A: -3.75, mppt2_A: -3.68 }],
  ["a discharging battery", "battery", { W: -2500, A: -10.5 }],
  ["an empty battery", "battery", { SoC_nom_fract: 0 }],
  ["a full battery", "battery", { SoC_nom_fract: 1 }],
  ["a meter exporting", "meter", { W: -3400, L1_W: -1133.3 }],
  ["an idle EV port", "ev_charger_port", { W: 0, session_id: null, charging_state: "idle" }],
  ["the deprecated EV port fields", "ev_charger_port", { status: "Charging", plug_connected: true }],
  [
    "a V2X charger feeding the grid (V2G)",
    "v2x_charger",
    { W: -5300, ac_W: -5300, charging_state: "discharging" },
  ],
  ["a V2X charger with only dc_W", "v2x_charger", { W: null, ac_W: null, dc_W: -4000 }],
];

describe("accepted readings", () => {
  it.each(accepted)("%s (%s)", (_what, type, changes) => {
    expect(validateReading(reading(type, changes))).toEqual({ ok: true, reading: reading(type, changes) });
  });

  it("drops fields that are not part of the model", () => {
    const result = TelemetryReadingSchema.parse(reading("meter", { firmware: "1.2.3" }));
    expect(result).not.toHaveProperty("firmware");
  });
});
