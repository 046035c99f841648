import type { EvChargerPortReading, V2xChargerReading } from "@energy/contracts";
import { type PortState, withPowerDirection } from "./connector-status.ts";
import type { Sample } from "./meter-values.ts";
import type { Bands } from "./power-limits.ts";

export interface ReadingInput {
  /** ev_charger or v2x_charger: which telemetry model. */
  deviceType: string;
  make: string | null;
  /** When it was measured (ms): the charger's time, or the receive time when its clock is skewed. */
  timestampMs: number;
  port: PortState;
  sample: Sample | null;
  /** The open transaction on the connector: its id (session_id) and meter start. */
  session: { id: number; meterStartWh: number | null } | null;
  bands: Bands;
}

const round = (n: number | undefined): number | undefined => (n === undefined ? undefined : Math.round(n));

/**
 * The ev_charger_port (or v2x_charger) reading of one connector at one time, in the seed's fields.
 * Only what was measured is set: no W when the charger sent no power, no total_charge_Wh without an
 * energy register (unknown is not 0), session_charge_Wh only when both the register and the meter start
 * are known.
 */
export function buildReading(input: ReadingInput): EvChargerPortReading | V2xChargerReading {
  const { sample, session, port } = input;
  const power = round(sample?.powerW);
  const total = round(sample?.energyImportWh);
  const sessionWh =
    total !== undefined && session?.meterStartWh != null
      ? Math.max(0, total - Math.round(session.meterStartWh))
      : undefined;
  const common = {
    ...(input.make ? { make: input.make } : {}),
    timestamp: input.timestampMs,
    connector_status: port.connectorStatus,
    ...(port.chargingState ? { charging_state: port.chargingState } : {}),
    ...phases(sample),
    ...(total !== undefined ? { total_charge_Wh: total } : {}),
    ...(sessionWh !== undefined ? { session_charge_Wh: sessionWh } : {}),
    session_id: session?.id ?? null,
    upper_limit_W: input.bands.upper_limit_W,
    lower_limit_W: input.bands.lower_limit_W,
  };
  if (input.deviceType === "v2x_charger") {
    const state = withPowerDirection(port.chargingState, power);
    const exported = round(sample?.energyExportWh);
    return {
      type: "v2x_charger",
      ...common,
      ...(state ? { charging_state: state } : {}),
      control_mode: "bi_dir",
      ...(power !== undefined ? { W: power, ac_W: power } : {}),
      ...(exported !== undefined ? { total_discharge_Wh: exported } : {}),
      ...(sample?.soc !== undefined ? { vehicle_soc_fract: sample.soc } : {}),
    };
  }
  // An AC charger delivers power to the EV: W >= 0. A negative value is a meter artefact and is dropped.
  return { type: "ev_charger_port", ...common, ...(power !== undefined && power >= 0 ? { W: power } : {}) };
}

function phases(sample: Sample | null) {
  const out: Record<string, number> = {};
  if (!sample) return out;
  for (const phase of ["L1", "L2", "L3"] as const) {
    const v = sample.voltage[phase];
    const a = sample.current[phase];
    if (v !== undefined) out[`${phase}_V`] = v;
    if (a !== undefined) out[`${phase}_A`] = a;
  }
  return out;
}
