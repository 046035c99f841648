import { type EventToPublish, enqueueEvent, type SqlClient } from "@energy/kafka";

/** Writes an ingestion event to the outbox inside the caller's transaction (published by the relay). */
export function recordEvent(tx: SqlClient, event: EventToPublish): Promise<string> {
  return enqueueEvent(tx, "ingestion", event);
}
