import { z } from "zod";
import { ChargingStateSchema, ConnectorStatusSchema } from "../enums.ts";
import { BaseDeviceDataSchema } from "./base.ts";
import { energyWh, flag, float, integer, oneOf, powerLimits, text } from "./fields.ts";
import { checkPowerLimits } from "./power-limits.ts";

/** One connector of an AC charger (from OCPP). W is the power delivered to the EV: W >= 0. */
export const EvChargerPortReadingSchema = BaseDeviceDataSchema.extend({
  type: z.literal("ev_charger_port"),
  connector_status: oneOf(ConnectorStatusSchema).nullish(),
  charging_state: oneOf(ChargingStateSchema).nullish(),
  /** Deprecated: use connector_status + charging_state (normalizeReading maps it). */
  status: text.nullish(),
  /** Deprecated: use connector_status (normalizeReading maps it). */
  plug_connected: flag.nullish(),
  W: integer.min(0, "W must be >= 0: it is the power delivered to the EV").nullish(),
  L1_V: float.nullish(),
  L1_A: float.nullish(),
  L2_V: float.nullish(),
  L2_A: float.nullish(),
  L3_V: float.nullish(),
  L3_A: float.nullish(),
  total_charge_Wh: energyWh.nullish(),
  session_charge_Wh: energyWh.nullish(),
  /** OCPP transaction id; null when no session. */
  session_id: integer.nullish(),
  upper_limit_W: powerLimits.nullish(),
  lower_limit_W: powerLimits.nullish(),
})
  .superRefine(checkPowerLimits)
  .describe(
    "One connector of an AC charger (DER type ev_charger_port). W >= 0: the power delivered to the EV. Deprecated status / plug_connected are mapped onto connector_status / charging_state.",
  );
export type EvChargerPortReading = z.infer<typeof EvChargerPortReadingSchema>;
