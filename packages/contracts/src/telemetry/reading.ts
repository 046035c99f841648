import { z } from "zod";
import { BatteryReadingSchema } from "./battery.ts";
import { compileReadingModels } from "./compiled.ts";
import { EvChargerPortReadingSchema } from "./ev-charger-port.ts";
import { fieldPath } from "./fields.ts";
import { MeterReadingSchema } from "./meter.ts";
import { PvReadingSchema } from "./pv.ts";
import { V2xChargerReadingSchema } from "./v2x-charger.ts";

const models = [
  PvReadingSchema,
  BatteryReadingSchema,
  MeterReadingSchema,
  EvChargerPortReadingSchema,
  V2xChargerReadingSchema,
] as const;

/** One telemetry reading of one DER; `type` picks the model. Unknown fields are dropped. */
export const TelemetryReadingSchema = z.discriminatedUnion("type", models, {
  error: (issue) =>
    issue.code === "invalid_union"
      ? `type must be one of ${models.map((m) => m.shape.type.value).join(", ")}`
      : "reading must be a JSON object with a type field",
});
export type TelemetryReading = z.infer<typeof TelemetryReadingSchema>;

/** Why a reading was refused: the field (e.g. `W`, `lower_limit_W[1]`) and a message naming it. */
export const ReadingErrorSchema = z.object({ field: z.string(), message: z.string() });
export type ReadingError = z.infer<typeof ReadingErrorSchema>;

export type ReadingValidation =
  | { ok: true; reading: TelemetryReading }
  | { ok: false; errors: ReadingError[] };

/** The models compiled: what TelemetryReadingSchema returns for a reading it accepts, else undefined. */
const acceptReading = compileReadingModels(models);

/**
 * Parses untrusted input. The accepted reading is not yet normalized: pass it to normalizeReading.
 * A valid reading takes the compiled models (compiled.ts: the same verdict and output, a few times faster);
 * anything else is parsed by the zod model, whose issues name the fields.
 */
export function validateReading(input: unknown): ReadingValidation {
  const accepted = acceptReading(input);
  if (accepted) return { ok: true, reading: accepted as TelemetryReading };
  const result = TelemetryReadingSchema.safeParse(input);
  if (result.success) return { ok: true, reading: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue) => ({ field: fieldPath(issue.path), message: issue.message })),
  };
}
