import type { ChargingState, ConnectorStatus } from "@energy/contracts";

/** What a connector is doing in the seed's vocabulary: availability and, when known, the charging state. */
export interface PortState {
  connectorStatus: ConnectorStatus;
  /** null when there is no session to speak of (nothing plugged, reserved, out of order). */
  chargingState: ChargingState | null;
}

/**
 * OCPP 1.6 ChargePointStatus → the seed's connector_status + charging_state. Preparing and Finishing are
 * kept as their own connector statuses (the seed keeps them from 1.6); the three "in use" words become
 * occupied with the charging state they name.
 */
export const V16_STATUS: Record<string, PortState> = {
  Available: { connectorStatus: "available", chargingState: null },
  Preparing: { connectorStatus: "preparing", chargingState: "ev_connected" },
  Charging: { connectorStatus: "occupied", chargingState: "charging" },
  SuspendedEVSE: { connectorStatus: "occupied", chargingState: "suspended_evse" },
  SuspendedEV: { connectorStatus: "occupied", chargingState: "suspended_ev" },
  Finishing: { connectorStatus: "finishing", chargingState: "ev_connected" },
  Reserved: { connectorStatus: "reserved", chargingState: null },
  Unavailable: { connectorStatus: "unavailable", chargingState: null },
  Faulted: { connectorStatus: "faulted", chargingState: null },
};

/** OCPP 2.0.1 ConnectorStatusEnumType → connector_status (the charging state comes from TransactionEvent). */
export const V201_CONNECTOR_STATUS: Record<string, ConnectorStatus> = {
  Available: "available",
  Occupied: "occupied",
  Reserved: "reserved",
  Unavailable: "unavailable",
  Faulted: "faulted",
};

/** OCPP 2.0.1 ChargingStateEnumType (transactionInfo.chargingState) → charging_state. */
export const V201_CHARGING_STATE: Record<string, ChargingState> = {
  Charging: "charging",
  EVConnected: "ev_connected",
  SuspendedEV: "suspended_ev",
  SuspendedEVSE: "suspended_evse",
  Idle: "idle",
};

export const UNKNOWN_PORT: PortState = { connectorStatus: "unknown", chargingState: null };

export function v16PortState(status: string): PortState {
  return V16_STATUS[status] ?? UNKNOWN_PORT;
}

export function v201ConnectorStatus(status: string): ConnectorStatus {
  return V201_CONNECTOR_STATUS[status] ?? "unknown";
}

export function v201ChargingState(state: string | undefined | null): ChargingState | null {
  if (!state) return null;
  return V201_CHARGING_STATE[state] ?? "unknown";
}

/**
 * A V2X charger that reports charging while power flows out of the vehicle is discharging (V2G); OCPP
 * itself has no word for it.
 */
export function withPowerDirection(
  state: ChargingState | null,
  powerW: number | null | undefined,
): ChargingState | null {
  if (state === "charging" && powerW != null && powerW < 0) return "discharging";
  return state;
}

/** 1.6 error codes are kept as sent; NoError means there is none. */
export function v16ErrorCode(code: string | undefined | null): string | null {
  return !code || code === "NoError" ? null : code;
}
