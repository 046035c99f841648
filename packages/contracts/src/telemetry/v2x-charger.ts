import { z } from "zod";
import { ChargingStateSchema, ConnectorStatusSchema, ControlModeSchema } from "../enums.ts";
import { BaseDeviceDataSchema } from "./base.ts";
import { energyWh, flag, float, fraction, integer, oneOf, powerLimits, text } from "./fields.ts";
import { checkPowerLimits } from "./power-limits.ts";

/** Bidirectional charger. W, ac_W: + charging, - V2G. W is derived by normalizeReading when absent. */
export const V2xChargerReadingSchema = BaseDeviceDataSchema.extend({
  type: z.literal("v2x_charger"),
  connector_status: oneOf(ConnectorStatusSchema).nullish(),
  charging_state: oneOf(ChargingStateSchema).nullish(),
  /** Deprecated: use connector_status + charging_state (normalizeReading maps it). */
  status: text.nullish(),
  /** e.g. ISO_15118_2, ISO_15118_20, DIN. */
  protocol: text.nullish(),
  control_mode: oneOf(ControlModeSchema).nullish(),
  /** Deprecated: use connector_status (normalizeReading maps it). */
  plug_connected: flag.nullish(),
  W: integer.nullish(),
  ac_W: integer.nullish(),
  A: float.nullish(),
  V: float.nullish(),
  Hz: float.nullish(),
  L1_V: float.nullish(),
  L1_A: float.nullish(),
  L1_W: float.nullish(),
  L2_V: float.nullish(),
  L2_A: float.nullish(),
  L2_W: float.nullish(),
  L3_V: float.nullish(),
  L3_A: float.nullish(),
  L3_W: float.nullish(),
  dc_W: integer.nullish(),
  dc_V: float.nullish(),
  dc_A: float.nullish(),
  vehicle_soc_fract: fraction.nullish(),
  ev_target_energy_req_Wh: energyWh.nullish(),
  ev_max_energy_req_Wh: energyWh.nullish(),
  ev_min_energy_req_Wh: energyWh.nullish(),
  session_charge_Wh: energyWh.nullish(),
  session_discharge_Wh: energyWh.nullish(),
  total_charge_Wh: energyWh.nullish(),
  total_discharge_Wh: energyWh.nullish(),
  upper_limit_W: powerLimits.nullish(),
  lower_limit_W: powerLimits.nullish(),
})
  .superRefine(checkPowerLimits)
  .describe(
    "Bidirectional charger (DER type ev_charger_port). W, ac_W: + charging, - V2G; without W, ac_W is taken, else dc_W * 0.95.",
  );
export type V2xChargerReading = z.infer<typeof V2xChargerReadingSchema>;
