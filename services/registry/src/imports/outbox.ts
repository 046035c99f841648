import { checkMessageSize, type EventToPublish, prepareEvent, type SqlClient } from "@energy/kafka";

/**
 * Many registry events into the outbox with one INSERT, inside the caller's transaction: the same rows
 * recordEvent (enqueueEvent) writes one by one, each event validated against its contract the same way.
 */
export async function recordEvents(tx: SqlClient, events: readonly EventToPublish[]): Promise<void> {
  if (events.length === 0) return;
  const cols: [
    string[],
    string[],
    string[],
    string[],
    number[],
    string[],
    string[],
    (string | null)[],
    string[],
  ] = [[], [], [], [], [], [], [], [], []];
  for (const event of events) {
    const m = prepareEvent("registry", event);
    checkMessageSize(m);
    cols[0].push(m.envelope.id);
    cols[1].push(m.topic);
    cols[2].push(m.key);
    cols[3].push(m.envelope.type);
    cols[4].push(m.envelope.schemaVersion);
    cols[5].push(JSON.stringify(m.payload));
    cols[6].push(m.envelope.correlationId);
    cols[7].push(m.envelope.causationId ?? null);
    cols[8].push(m.envelope.occurredAt);
  }
  await tx.$executeRawUnsafe(
    `INSERT INTO outbox (id, topic, key, type, schema_version, payload, correlation_id, causation_id, occurred_at)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::jsonb[], $7::text[],
                          $8::text[], $9::timestamptz[])`,
    ...cols,
  );
}
