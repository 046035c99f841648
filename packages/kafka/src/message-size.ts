import { envelopeToHeaders } from "./envelope.ts";
import type { PreparedMessage } from "./producer.ts";

/**
 * The largest message (key + value + headers) we write, by default: just under the broker's
 * `message.max.bytes` (1,048,588 bytes by default), leaving room for the record batch's own overhead.
 * A message over the broker's limit is refused by it (MESSAGE_TOO_LARGE) on every attempt, so it is
 * refused here first, where the caller can still be told.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_000_000;

let maxBytes = DEFAULT_MAX_MESSAGE_BYTES;

/** Sets the process's message size limit (a service sets it once from `KAFKA_MAX_MESSAGE_BYTES`). */
export function setMaxMessageBytes(bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < 1)
    throw new RangeError(`max message bytes must be a positive integer`);
  maxBytes = bytes;
}

export function maxMessageBytes(): number {
  return maxBytes;
}

/**
 * An event too large for the broker. It carries `statusCode` 413, so service-kit's error handler answers
 * a request that made one with 413 payload_too_large and this message, which names the limit.
 */
export class MessageTooLargeError extends Error {
  override readonly name = "MessageTooLargeError";
  readonly statusCode = 413;
  constructor(
    readonly bytes: number,
    readonly limitBytes: number,
    what: string,
  ) {
    super(`${what} would be a ${bytes}-byte Kafka message; at most ${limitBytes} bytes can be published`);
  }
}

/** What a message costs against the limit: its key, value and headers as UTF-8. */
export function encodedBytes(key: string, value: string, headers: Record<string, string>): number {
  let bytes = Buffer.byteLength(key) + Buffer.byteLength(value);
  for (const [name, header] of Object.entries(headers))
    bytes += Buffer.byteLength(name) + Buffer.byteLength(header);
  return bytes;
}

/** The size of a prepared event as it will be published (`json`: its payload already serialized). */
export function preparedMessageBytes(m: PreparedMessage, json = m.json ?? JSON.stringify(m.payload)): number {
  return encodedBytes(m.key, json, envelopeToHeaders(m.envelope));
}

/** Throws MessageTooLargeError when the event would not fit in one Kafka message; returns its size. */
export function checkMessageSize(m: PreparedMessage, limit = maxBytes, json?: string): number {
  const bytes = preparedMessageBytes(m, json);
  if (bytes > limit) throw new MessageTooLargeError(bytes, limit, `${m.envelope.type} on ${m.topic}`);
  return bytes;
}
