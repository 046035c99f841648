import { z } from "zod";
import { BaseDeviceDataSchema } from "./base.ts";
import { energyWh, float, integer } from "./fields.ts";

/** Grid or sub meter. W: + import, - export. */
export const MeterReadingSchema = BaseDeviceDataSchema.extend({
  type: z.literal("meter"),
  W: integer.nullish(),
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
  total_import_Wh: energyWh.nullish(),
  total_export_Wh: energyWh.nullish(),
}).describe("Grid or sub meter (DER type meter). W: + import, - export.");
export type MeterReading = z.infer<typeof MeterReadingSchema>;
