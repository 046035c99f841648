import { z } from "zod";
import { about, integer, text } from "./fields.ts";

/** Fields shared by every telemetry model. Only `type` (set by each model) and `timestamp` are required. */
export const BaseDeviceDataSchema = z.object({
  make: text.nullish(),
  /** Start of the reading, ms since the Unix epoch. */
  timestamp: z
    .int(about("must be an integer"))
    .min(0, "timestamp must be >= 0 (ms since the Unix epoch)")
    // the latest time a JavaScript Date holds
    .max(8_640_000_000_000_000, "timestamp must be at most 8640000000000000 (ms since the Unix epoch)")
    .describe("start of the reading, whole ms since the Unix epoch (required)"),
  /** How long the reading took. */
  read_time_ms: integer
    .min(0, "read_time_ms must be >= 0")
    .describe("how long the reading took, ms")
    .nullish(),
});
export type BaseDeviceData = z.infer<typeof BaseDeviceDataSchema>;
