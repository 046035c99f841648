import { z } from "zod";
import { IdSchema, IsoDateTimeSchema } from "./primitives.ts";

export const ServiceNameSchema = z.enum([
  "registry",
  "ingestion",
  "ocpp",
  "meter-read",
  "reservation",
  "certificate",
]);
export type ServiceName = z.infer<typeof ServiceNameSchema>;

/** `<entity>.<past-tense-verb>`, e.g. `device.registered`, `identity.key_added`, `device-group.created`. */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*$/;

/**
 * Metadata of every Kafka message (headers + value); the payload is validated by the
 * event schema that the topic catalog names for `type`.
 */
export const EnvelopeSchema = z.object({
  /** Idempotency key: consumers process each id once. */
  id: z.uuid(),
  type: z
    .string()
    .regex(EVENT_TYPE_PATTERN, "type must look like <entity>.<past-tense-verb>, e.g. device.registered"),
  schemaVersion: z.int().positive(),
  source: ServiceNameSchema,
  occurredAt: IsoDateTimeSchema,
  /** Shared by every message that one request caused. */
  correlationId: IdSchema,
  /** Envelope id of the message that caused this one; null for a message started by a request. */
  causationId: IdSchema.nullable(),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;
