import { randomUUID } from "node:crypto";
import { type Envelope, EnvelopeSchema, EVENT_TYPE_PATTERN, ServiceNameSchema } from "@energy/contracts";
import type { IHeaders } from "kafkajs";
import { FatalMessageError } from "./errors.ts";

/**
 * The envelope travels in one Kafka header, `envelope`, as compact JSON; the value is the JSON payload.
 * One header rather than one per field: kafkajs encodes, checksums and decodes every header of every
 * record in JavaScript, and six headers cost the consumer more than half its throughput (see
 * packages/kafka/bench). The correlation id is left out when it equals the id.
 */
export const ENVELOPE_HEADER = "envelope";

export type EnvelopeInit = Pick<Envelope, "type" | "source"> &
  Partial<Pick<Envelope, "id" | "schemaVersion" | "occurredAt" | "correlationId" | "causationId">>;

/** A complete envelope: a fresh id, now, and a correlation id that defaults to the id itself. */
export function createEnvelope(init: EnvelopeInit): Envelope {
  const id = init.id ?? randomUUID();
  return {
    id,
    type: init.type,
    schemaVersion: init.schemaVersion ?? 1,
    source: init.source,
    occurredAt: init.occurredAt ?? new Date().toISOString(),
    correlationId: init.correlationId ?? id,
    causationId: init.causationId ?? null,
  };
}

export function envelopeToHeaders(envelope: Envelope): Record<string, string> {
  // Written by hand on this hot path: id, type, source and occurredAt are validated, JSON-safe strings.
  let json = `{"id":"${envelope.id}","type":"${envelope.type}","schemaVersion":${envelope.schemaVersion},"source":"${envelope.source}","occurredAt":"${envelope.occurredAt}"`;
  if (envelope.correlationId !== envelope.id)
    json += `,"correlationId":${JSON.stringify(envelope.correlationId)}`;
  if (envelope.causationId !== null) json += `,"causationId":${JSON.stringify(envelope.causationId)}`;
  return { [ENVELOPE_HEADER]: `${json}}` };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const SOURCES = new Set<string>(ServiceNameSchema.options);

/** The common case, checked without building a zod result; anything unusual goes to the full schema. */
function looksValid(e: Partial<Envelope>): e is Envelope {
  return (
    typeof e.id === "string" &&
    UUID.test(e.id) &&
    typeof e.type === "string" &&
    EVENT_TYPE_PATTERN.test(e.type) &&
    Number.isInteger(e.schemaVersion) &&
    (e.schemaVersion as number) > 0 &&
    typeof e.source === "string" &&
    SOURCES.has(e.source) &&
    typeof e.occurredAt === "string" &&
    ISO_UTC.test(e.occurredAt) &&
    typeof e.correlationId === "string" &&
    e.correlationId.length > 0 &&
    (e.causationId === null || (typeof e.causationId === "string" && e.causationId.length > 0))
  );
}

/** Reads and validates the envelope of a consumed message; a missing or bad field is fatal. */
export function envelopeFromHeaders(headers: IHeaders | undefined): Envelope {
  const raw = headers?.[ENVELOPE_HEADER];
  const text = (Array.isArray(raw) ? raw[0] : raw)?.toString();
  if (!text) throw new FatalMessageError(`message has no "${ENVELOPE_HEADER}" header`);
  let candidate: Partial<Envelope>;
  try {
    candidate = JSON.parse(text);
  } catch {
    throw new FatalMessageError(`the "${ENVELOPE_HEADER}" header is not JSON`);
  }
  candidate.correlationId ??= candidate.id;
  candidate.causationId ??= null;
  if (looksValid(candidate)) return candidate;
  const parsed = EnvelopeSchema.safeParse(candidate); // names what is wrong
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new FatalMessageError(`invalid envelope: ${fields}`);
  }
  return parsed.data;
}
