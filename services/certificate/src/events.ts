import { type EventPayload, topics } from "@energy/contracts";
import { enqueueEvent, type SqlClient } from "@energy/kafka";

type T = typeof topics.certificateCertificate;
type EventType = keyof T["events"] & string;

/**
 * Writes a certificate result to the outbox in the caller's transaction (published by the relay once it
 * commits), keyed by reservation id so one reservation's results stay in order.
 */
export function recordCertificateEvent<K extends EventType>(
  tx: SqlClient,
  type: K,
  payload: EventPayload<T, K>,
  envelope: { correlationId: string; causationId?: string | null },
): Promise<string> {
  return enqueueEvent(tx, "certificate", {
    topic: topics.certificateCertificate.name,
    key: payload.reservationId,
    type,
    payload,
    envelope: { correlationId: envelope.correlationId, causationId: envelope.causationId ?? null },
  });
}
