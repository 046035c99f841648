import { describe, expect, it } from "vitest";
import { normalizeReading, type TelemetryReading, TelemetryReadingSchema } from "../src/index.ts";
import { evChargerPortExample, pvExample, T, v2xChargerExample } from "./seed-examples.ts";

const port = (fields: Record<string, unknown>) =>
  TelemetryReadingSchema.parse({ type: "ev_charger_port", timestamp: T, ...fields });
const v2x = (fields: Record<string, unknown>) =>
  TelemetryReadingSchema.parse({ type: "v2x_charger", timestamp: T, ...fields });

/** The connector_status / charging_state a normalized reading ends up with (undefined: still absent). */
function statusOf(reading: TelemetryReading) {
  const normalized = normalizeReading(reading);
  if (normalized.type !== "ev_charger_port" && normalized.type !== "v2x_charger")
    throw new Error("not a charger");
  return [normalized.connector_status, normalized.charging_state];
}

describe("deprecated status strings of OCPP 1.6", () => {
  it.each([
    ["Available", "available", "idle"],
    ["Preparing", "preparing", "ev_connected"],
    ["Charging", "occupied", "charging"],
    ["SuspendedEV", "occupied", "suspended_ev"],
    ["SuspendedEVSE", "occupied", "suspended_evse"],
    ["Finishing", "finishing", "ev_connected"],
    ["Reserved", "reserved", "idle"],
    ["Unavailable", "unavailable", undefined],
    ["Faulted", "faulted", undefined],
    ["CHARGING", "occupied", "charging"],
    ["suspended_ev", "occupied", "suspended_ev"],
    ["Discharging", "occupied", "discharging"],
  ])("status %s → %s / %s", (status, connector, charging) => {
    expect(statusOf(port({ status }))).toEqual([connector, charging]);
    expect(statusOf(v2x({ status }))).toEqual([connector, charging]);
  });

  it("an unknown status string derives nothing", () => {
    expect(statusOf(port({ status: "Blinking" }))).toEqual([undefined, undefined]);
  });

  it("never overrides connector_status / charging_state that were read", () => {
    const reading = port({
      status: "Charging",
      connector_status: "faulted",
      charging_state: "suspended_evse",
    });
    expect(statusOf(reading)).toEqual(["faulted", "suspended_evse"]);
  });

  it("fills only the field that is missing", () => {
    expect(statusOf(port({ status: "SuspendedEV", connector_status: "occupied" }))).toEqual([
      "occupied",
      "suspended_ev",
    ]);
  });
});

describe("deprecated plug_connected", () => {
  it.each([
    [false, undefined, "available", undefined],
    [true, undefined, "occupied", undefined],
    [true, "Preparing", "preparing", "ev_connected"],
    [true, "Finishing", "finishing", "ev_connected"],
  ])("plug_connected %s with status %s → %s / %s", (plug_connected, status, connector, charging) => {
    expect(statusOf(port({ plug_connected, status }))).toEqual([connector, charging]);
  });
});

describe("V2X power", () => {
  it.each([
    ["W as read", { W: 5300, ac_W: 5000, dc_W: 5100 }, 5300],
    ["ac_W when W is absent", { ac_W: 5000, dc_W: 5100 }, 5000],
    ["ac_W when W is null", { W: null, ac_W: -4200 }, -4200],
    ["dc_W * 0.95 when ac_W is absent", { dc_W: 5100 }, 4845],
    ["dc_W * 0.95 rounded, V2G", { dc_W: -4001 }, -3801],
  ])("%s", (_what, fields, W) => {
    expect(normalizeReading(v2x(fields))).toMatchObject({ W });
  });

  it("stays absent when nothing was read", () => {
    expect(normalizeReading(v2x({}))).not.toHaveProperty("W");
    expect(normalizeReading(v2x({ W: null }))).toHaveProperty("W", null);
  });
});

describe("normalizeReading", () => {
  it("returns a copy and leaves the input alone", () => {
    const input = v2x({ dc_W: 5100, plug_connected: false });
    const snapshot = structuredClone(input);
    const output = normalizeReading(input);
    expect(output).not.toBe(input);
    expect(input).toEqual(snapshot);
  });

  it("adds no keys for fields that were not read", () => {
    expect(normalizeReading(port({}))).toStrictEqual({ type: "ev_charger_port", timestamp: T });
  });

  it.each([
    ["pv", { ...pvExample, timestamp: T }],
    ["ev_charger_port", { ...evChargerPortExample, timestamp: T }],
  ])("leaves a complete %s reading as it is", (_type, example) => {
    const reading = TelemetryReadingSchema.parse(example);
    expect(normalizeReading(reading)).toEqual(reading);
  });

  it("keeps the deprecated fields and stays valid", () => {
    const normalized = normalizeReading(
      TelemetryReadingSchema.parse({ ...v2xChargerExample, timestamp: T, W: null, connector_status: null }),
    );
    expect(normalized).toMatchObject({ W: 5300, connector_status: "occupied", plug_connected: true });
    expect(TelemetryReadingSchema.parse(normalized)).toEqual(normalized);
  });
});
