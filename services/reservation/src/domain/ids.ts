import { createHash, randomBytes } from "node:crypto";

/** A new reservation id (`rsv-` and 16 hex digits). */
export const newReservationId = (): string => `rsv-${randomBytes(8).toString("hex")}`;

/** `<reservationId>:<window start ISO>:v<version>`: the same window and version always give the same key. */
export const idempotencyKey = (reservationId: string, windowStart: Date, version: number): string =>
  `${reservationId}:${windowStart.toISOString()}:v${version}`;

/**
 * A uuid derived from the idempotency key (sha256, laid out as an RFC 9562 version 8 uuid): the request id
 * and the envelope id of a request's message, so a re-run names the same request.
 */
export function requestIdOf(key: string): string {
  const h = createHash("sha256").update(key).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
