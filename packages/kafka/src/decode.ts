import { type Envelope, findEventSchema } from "@energy/contracts";
import type { KafkaMessage } from "kafkajs";
import type { z } from "zod";
import { envelopeFromHeaders } from "./envelope.ts";
import { describeZodError, FatalMessageError } from "./errors.ts";

/** A consumed message whose envelope and payload passed the contracts. */
// biome-ignore lint/suspicious/noExplicitAny: each handler narrows its own payload type
export interface DecodedMessage<P = any> {
  /** the payload as the contract's schema for `envelope.type` parsed it */
  payload: P;
  envelope: Envelope;
  /** catalog topic name (without prefix) */
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
}

/**
 * The envelope of a consumed message and the catalog's payload schema for its event type.
 * Throws FatalMessageError when the envelope is missing or invalid, or the topic has no such event type.
 */
export function readEnvelope(
  topic: string,
  message: KafkaMessage,
): { envelope: Envelope; schema: z.ZodType } {
  const envelope = envelopeFromHeaders(message.headers);
  const schema = findEventSchema(topic, envelope.type);
  if (!schema) throw new FatalMessageError(`event type "${envelope.type}" is not in the catalog of ${topic}`);
  return { envelope, schema };
}

/**
 * The message's value parsed by the contract's schema. Throws FatalMessageError when there is no value or
 * the payload breaks the contract (naming the fields), and the SyntaxError of JSON.parse when it is not
 * JSON (classifyError sorts both as fatal).
 */
export function parsePayload(schema: z.ZodType, type: string, message: KafkaMessage): unknown {
  if (!message.value) throw new FatalMessageError("message has no value");
  const parsed = schema.safeParse(JSON.parse(message.value.toString("utf8")));
  if (!parsed.success) {
    const fields = describeZodError(parsed.error, "payload").map((i) => `${i.path}: ${i.message}`);
    throw new FatalMessageError(`invalid ${type}: ${fields.join("; ")}`);
  }
  return parsed.data;
}

/**
 * Envelope, contract validation and coordinates of one consumed message; throws as the two above.
 * With `trusted`, the payload is only parsed as JSON (see BatchSubscription.trustedPayload).
 */
export function decodeMessage(
  topic: string,
  partition: number,
  message: KafkaMessage,
  trusted = false,
): DecodedMessage {
  const { envelope, schema } = readEnvelope(topic, message);
  return {
    payload: trusted ? parseJson(message) : parsePayload(schema, envelope.type, message),
    envelope,
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString("utf8") : null,
  };
}

function parseJson(message: KafkaMessage): unknown {
  if (!message.value) throw new FatalMessageError("message has no value");
  return JSON.parse(message.value.toString("utf8"));
}
