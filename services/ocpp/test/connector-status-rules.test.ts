import { describe, expect, it } from "vitest";
import {
  v16ErrorCode,
  v16PortState,
  v201ChargingState,
  v201ConnectorStatus,
  withPowerDirection,
} from "../src/domain/connector-status.ts";

describe("1.6 ChargePointStatus → connector_status + charging_state", () => {
  it.each([
    ["Available", "available", null],
    ["Preparing", "preparing", "ev_connected"],
    ["Charging", "occupied", "charging"],
    ["SuspendedEVSE", "occupied", "suspended_evse"],
    ["SuspendedEV", "occupied", "suspended_ev"],
    ["Finishing", "finishing", "ev_connected"],
    ["Reserved", "reserved", null],
    ["Unavailable", "unavailable", null],
    ["Faulted", "faulted", null],
    ["SomethingNew", "unknown", null],
  ])("%s → %s / %s", (status, connectorStatus, chargingState) => {
    expect(v16PortState(status)).toEqual({ connectorStatus, chargingState });
  });

  it.each([
    ["NoError", null],
    ["", null],
    ["GroundFailure", "GroundFailure"],
    ["OtherError", "OtherError"],
  ])("error code %s is kept as %s", (code, kept) => {
    expect(v16ErrorCode(code)).toBe(kept);
  });
});

describe("2.0.1 statuses", () => {
  it.each([
    ["Available", "available"],
    ["Occupied", "occupied"],
    ["Reserved", "reserved"],
    ["Unavailable", "unavailable"],
    ["Faulted", "faulted"],
    ["Bogus", "unknown"],
  ])("ConnectorStatus %s → %s", (status, expected) => {
    expect(v201ConnectorStatus(status)).toBe(expected);
  });

  it.each([
    ["Charging", "charging"],
    ["EVConnected", "ev_connected"],
    ["SuspendedEV", "suspended_ev"],
    ["SuspendedEVSE", "suspended_evse"],
    ["Idle", "idle"],
    ["Other", "unknown"],
    [undefined, null],
  ])("ChargingState %s → %s", (state, expected) => {
    expect(v201ChargingState(state)).toBe(expected);
  });

  it.each([
    ["charging", -3000, "discharging"],
    ["charging", 3000, "charging"],
    ["charging", null, "charging"],
    ["suspended_ev", -10, "suspended_ev"],
  ] as const)("a V2X charger %s at %s W is %s", (state, power, expected) => {
    expect(withPowerDirection(state, power)).toBe(expected);
  });
});
