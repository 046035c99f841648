import { z } from "zod";
import { BaseDeviceDataSchema } from "./base.ts";
import { energyWh, float, integer } from "./fields.ts";

/** Solar generation. Generation is negative: W <= 0. */
export const PvReadingSchema = BaseDeviceDataSchema.extend({
  type: z.literal("pv"),
  W: integer.max(0, "W must be <= 0: PV generation is negative").nullish(),
  rated_power_W: integer.min(0, "rated_power_W must be >= 0").nullish(),
  mppt1_V: float.nullish(),
  mppt1_A: float.nullish(),
  mppt2_V: float.nullish(),
  mppt2_A: float.nullish(),
  heatsink_C: float.nullish(),
  total_generation_Wh: energyWh.nullish(),
}).describe("Solar generation (DER type solar). W <= 0: generation is negative.");
export type PvReading = z.infer<typeof PvReadingSchema>;
