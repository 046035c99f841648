import { randomUUID } from "node:crypto";
import { type Envelope, EnvelopeSchema } from "@energy/contracts";
import type { IHeaders } from "kafkajs";
import { FatalMessageError } from "./errors.ts";

/** Envelope fields travel as Kafka headers; the value is the JSON payload. */
const HEADER_NAMES = {
  id: "id",
  type: "type",
  schemaVersion: "schema-version",
  source: "source",
  occurredAt: "occurred-at",
  correlationId: "correlation-id",
  causationId: "causation-id",
} as const satisfies Record<keyof Envelope, string>;

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
  const headers: Record<string, string> = {
    [HEADER_NAMES.id]: envelope.id,
    [HEADER_NAMES.type]: envelope.type,
    [HEADER_NAMES.schemaVersion]: String(envelope.schemaVersion),
    [HEADER_NAMES.source]: envelope.source,
    [HEADER_NAMES.occurredAt]: envelope.occurredAt,
    [HEADER_NAMES.correlationId]: envelope.correlationId,
  };
  if (envelope.causationId) headers[HEADER_NAMES.causationId] = envelope.causationId;
  return headers;
}

function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** Reads and validates the envelope of a consumed message; a missing or bad field is fatal. */
export function envelopeFromHeaders(headers: IHeaders | undefined): Envelope {
  const schemaVersion = headerText(headers, HEADER_NAMES.schemaVersion);
  const candidate = {
    id: headerText(headers, HEADER_NAMES.id),
    type: headerText(headers, HEADER_NAMES.type),
    schemaVersion: schemaVersion === undefined ? undefined : Number(schemaVersion),
    source: headerText(headers, HEADER_NAMES.source),
    occurredAt: headerText(headers, HEADER_NAMES.occurredAt),
    correlationId: headerText(headers, HEADER_NAMES.correlationId),
    causationId: headerText(headers, HEADER_NAMES.causationId) ?? null,
  };
  const parsed = EnvelopeSchema.safeParse(candidate);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new FatalMessageError(`invalid envelope headers: ${fields}`);
  }
  return parsed.data;
}
