import type { ChargingState, ConnectorStatus } from "../enums.ts";
import type { EvChargerPortReading } from "./ev-charger-port.ts";
import type { TelemetryReading } from "./reading.ts";
import type { V2xChargerReading } from "./v2x-charger.ts";

type ChargerReading = EvChargerPortReading | V2xChargerReading;
type ChargerStatus = { connector_status: ConnectorStatus; charging_state?: ChargingState };

/**
 * Deprecated `status` strings (OCPP 1.6 ChargePointStatus and a few 2.0.1 words), keyed in
 * lower case without `_`, `-` or spaces. No charging_state where the status does not tell it.
 */
const STATUS_MAP: Record<string, ChargerStatus> = {
  available: { connector_status: "available", charging_state: "idle" },
  preparing: { connector_status: "preparing", charging_state: "ev_connected" },
  charging: { connector_status: "occupied", charging_state: "charging" },
  discharging: { connector_status: "occupied", charging_state: "discharging" },
  suspendedev: { connector_status: "occupied", charging_state: "suspended_ev" },
  suspendedevse: { connector_status: "occupied", charging_state: "suspended_evse" },
  finishing: { connector_status: "finishing", charging_state: "ev_connected" },
  reserved: { connector_status: "reserved", charging_state: "idle" },
  unavailable: { connector_status: "unavailable" },
  faulted: { connector_status: "faulted" },
  occupied: { connector_status: "occupied" },
};

/** `"SuspendedEV"`, `"suspended_ev"`, `"SUSPENDED-EV"` → the same entry; unknown strings → undefined. */
export function statusFromOcpp(status: string): ChargerStatus | undefined {
  const key = status.toLowerCase().replace(/[\s_-]/g, "");
  return Object.hasOwn(STATUS_MAP, key) ? STATUS_MAP[key] : undefined;
}

/** Fills connector_status / charging_state from the deprecated fields, only where they are absent. */
function chargerStatus(reading: ChargerReading): Partial<ChargerStatus> {
  const fromStatus = reading.status == null ? undefined : statusFromOcpp(reading.status);
  const fromPlug: ConnectorStatus | undefined =
    reading.plug_connected == null ? undefined : reading.plug_connected ? "occupied" : "available";

  const connector_status = reading.connector_status ?? fromStatus?.connector_status ?? fromPlug;
  const charging_state = reading.charging_state ?? fromStatus?.charging_state;
  return {
    ...(connector_status != null && { connector_status }),
    ...(charging_state != null && { charging_state }),
  };
}

/** V2X power: W as read, else ac_W, else dc_W * 0.95 (conversion loss), else not read. */
function v2xPower(reading: V2xChargerReading): number | undefined {
  if (reading.W != null) return reading.W;
  if (reading.ac_W != null) return reading.ac_W;
  if (reading.dc_W != null) return Math.round(reading.dc_W * 0.95);
  return undefined;
}

/**
 * A normalized copy of a valid reading: the deprecated charger fields are mapped onto
 * connector_status / charging_state, and a V2X reading gets W derived when it was not read.
 * Fields that were not read stay absent (or null); the deprecated fields are kept as they came.
 */
export function normalizeReading<T extends TelemetryReading>(reading: T): T {
  const copy: TelemetryReading = { ...reading };
  if (copy.type === "ev_charger_port" || copy.type === "v2x_charger") {
    Object.assign(copy, chargerStatus(copy));
  }
  if (copy.type === "v2x_charger") {
    const W = v2xPower(copy);
    if (W !== undefined) copy.W = W;
  }
  return copy as T;
}
