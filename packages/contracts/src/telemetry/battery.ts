import { z } from "zod";
import { BaseDeviceDataSchema } from "./base.ts";
import { energyWh, float, fraction, integer } from "./fields.ts";

/** Battery storage. W and A: + charge, - discharge. */
export const BatteryReadingSchema = BaseDeviceDataSchema.extend({
  type: z.literal("battery"),
  W: integer.nullish(),
  A: float.nullish(),
  V: float.nullish(),
  SoC_nom_fract: fraction.nullish(),
  heatsink_C: float.nullish(),
  total_charge_Wh: energyWh.nullish(),
  total_discharge_Wh: energyWh.nullish(),
}).describe("Battery storage (DER type battery). W and A: + charge, - discharge.");
export type BatteryReading = z.infer<typeof BatteryReadingSchema>;
