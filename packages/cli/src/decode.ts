/**
 * One Kafka message read against the catalog (packages/contracts): its envelope (the `envelope` header,
 * packages/kafka), then its payload by the schema the catalog names for the envelope's event type. Never
 * throws: what does not pass is returned as invalid, with the reason.
 */
import { type Envelope, findEventSchema } from "@energy/contracts";
import { envelopeFromHeaders } from "@energy/kafka";
import type { IHeaders } from "kafkajs";

export interface RawMessage {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
  /** the broker's timestamp, ms since the epoch as a string */
  timestamp?: string;
}

interface Coordinates {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
}

export type ReadMessage =
  | (Coordinates & { valid: true; type: string; envelope: Envelope; payload: unknown })
  | (Coordinates & {
      valid: false;
      reason: string;
      type: string | null;
      envelope: Envelope | null;
      value: string | null;
    });

export function readMessage(topic: string, message: RawMessage): ReadMessage {
  const at: Coordinates = {
    topic,
    partition: message.partition,
    offset: message.offset,
    key: message.key ? message.key.toString("utf8") : null,
  };
  const value = message.value ? message.value.toString("utf8") : null;
  const invalid = (reason: string, envelope: Envelope | null = null): ReadMessage => ({
    ...at,
    valid: false,
    reason,
    type: envelope?.type ?? null,
    envelope,
    value,
  });
  let envelope: Envelope;
  try {
    envelope = envelopeFromHeaders(message.headers);
  } catch (error) {
    return invalid((error as Error).message);
  }
  const schema = findEventSchema(topic, envelope.type);
  if (!schema) return invalid(`event type "${envelope.type}" is not in the catalog of ${topic}`, envelope);
  if (value === null) return invalid("message has no value", envelope);
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (error) {
    return invalid(`the value is not JSON (${(error as Error).message})`, envelope);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${["payload", ...i.path].join(".")}: ${i.message}`);
    return invalid(`invalid ${envelope.type}: ${issues.join("; ")}`, envelope);
  }
  return { ...at, valid: true, type: envelope.type, envelope, payload: parsed.data };
}

/** What a person reads: one header line, then the payload as pretty JSON (or, when invalid, the raw value). */
export function formatMessage(message: ReadMessage): string {
  const where = `${message.topic} partition ${message.partition} offset ${message.offset} · key ${message.key ?? "(none)"}`;
  if (message.valid) {
    const { envelope } = message;
    return (
      `── ${where} · ${message.type} · ${envelope.occurredAt} · from ${envelope.source} · id ${envelope.id}\n` +
      JSON.stringify(message.payload, null, 2)
    );
  }
  const value = message.value === null ? "(no value)" : truncate(message.value, 2_000);
  return `── ${where} · INVALID${message.type ? ` ${message.type}` : ""}: ${message.reason}\n${value}`;
}

const truncate = (text: string, max: number) =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
