import type { EventInput, EventTypeOf, topics } from "@energy/contracts";
import { enqueueEvent, type SqlClient } from "@energy/kafka";

type OcppTopic =
  | typeof topics.ocppCharger
  | typeof topics.ocppTransaction
  | typeof topics.ocppCommandResult
  | typeof topics.ocppCommand;

/**
 * Writes an ocpp event to the outbox inside the caller's transaction (published by the relay), keyed by
 * charge point so one charger's events stay in order. The payload is typed from its contract schema.
 */
export function recordEvent<T extends OcppTopic, K extends EventTypeOf<T>>(
  tx: SqlClient,
  topic: T,
  type: K,
  payload: EventInput<T, K> & { chargePointId: string },
  envelope: { correlationId?: string; causationId?: string } = {},
): Promise<string> {
  return enqueueEvent(tx, topic, type, payload, envelope);
}
