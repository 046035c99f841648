import type { AnyTopic, EventInput, EventTypeOf, ServiceName } from "@energy/contracts";
import { type Logger, type SqlClient, silentLogger, sleep, type TransactionalDb } from "./db.ts";
import {
  type EventOptions,
  type EventProducer,
  event,
  type OutgoingEvent,
  type PreparedMessage,
  prepareEvent,
} from "./producer.ts";

/**
 * Writes an event to the outbox inside the caller's transaction (never a dual write): the event is
 * published by the OutboxRelay only if the transaction commits. The payload is typed by the topic's
 * contract and validated now, so a bad event fails the request that made it, not the relay.
 * Returns the event's envelope id.
 */
export async function enqueueEvent<T extends AnyTopic, K extends EventTypeOf<T>>(
  tx: SqlClient,
  topic: T,
  type: K,
  payload: EventInput<T, K>,
  options?: EventOptions,
): Promise<string> {
  const [id] = await enqueueEvents(tx, [event(topic, type, payload, options)]);
  return id!;
}

/**
 * Many events into the outbox with one INSERT, inside the caller's transaction, in the given order
 * (the relay publishes them in that order). Each is validated like enqueueEvent's. Returns their ids.
 */
export async function enqueueEvents(tx: SqlClient, events: readonly OutgoingEvent[]): Promise<string[]> {
  if (events.length === 0) return [];
  // The envelope's source is the relay's producer's (the outbox row does not keep it).
  const prepared = events.map((e) => prepareEvent(e.topic.owner, e));
  const column = <V>(pick: (m: PreparedMessage) => V) => prepared.map(pick);
  await tx.$executeRawUnsafe(
    // WITH ORDINALITY + ORDER BY: seq follows the order of `events` (the order the relay publishes in).
    `INSERT INTO outbox (id, topic, key, type, schema_version, payload, correlation_id, causation_id, occurred_at)
     SELECT e.id, e.topic, e.key, e.type, e.schema_version, e.payload, e.correlation_id, e.causation_id, e.occurred_at
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::jsonb[], $7::text[], $8::text[],
                   $9::timestamptz[]) WITH ORDINALITY
            AS e(id, topic, key, type, schema_version, payload, correlation_id, causation_id, occurred_at, n)
      ORDER BY e.n`,
    column((m) => m.envelope.id),
    column((m) => m.topic),
    column((m) => m.key),
    column((m) => m.envelope.type),
    column((m) => m.envelope.schemaVersion),
    column((m) => JSON.stringify(m.payload)),
    column((m) => m.envelope.correlationId),
    column((m) => m.envelope.causationId),
    column((m) => m.envelope.occurredAt),
  );
  return prepared.map((m) => m.envelope.id);
}

interface OutboxRow {
  seq: bigint | number | string;
  id: string;
  topic: string;
  key: string;
  type: string;
  schema_version: number;
  payload: unknown;
  correlation_id: string;
  causation_id: string | null;
  occurred_at: Date | string;
}

export interface OutboxRelayOptions {
  db: TransactionalDb;
  producer: EventProducer;
  batchSize?: number;
  /** how long to sleep when the outbox is empty and nobody nudged */
  pollIntervalMs?: number;
  /** sent rows are deleted after this long (default one day) */
  retainSentMs?: number;
  logger?: Logger;
  /** called after the broker acknowledged a batch and before the rows are marked: fault injection in tests */
  afterPublish?: (ids: string[]) => Promise<void> | void;
}

/** Advisory lock key: only one relay per database publishes at a time, which keeps key order. */
const RELAY_LOCK_KEY = 7_242_001;

/**
 * Publishes outbox rows in commit order (seq), marks them sent in the same transaction, and resumes
 * after a crash: a row published but not marked is published again, and consumers drop the
 * duplicate by its envelope id.
 */
export class OutboxRelay {
  private running = false;
  private loopDone: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private lastPurge = 0;
  published = 0;

  constructor(private readonly opts: OutboxRelayOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.nudge();
    await this.loopDone;
    this.loopDone = null;
  }

  /** Publish now instead of at the next poll (call after committing a transaction that enqueued events). */
  nudge(): void {
    this.wake?.();
  }

  /** Publishes one batch of pending rows; returns how many. */
  async publishPending(): Promise<number> {
    const { db, producer } = this.opts;
    const batchSize = this.opts.batchSize ?? 500;
    return db.$transaction(
      async (tx: SqlClient) => {
        const [lock] = await tx.$queryRawUnsafe<Array<{ locked: boolean }>>(
          "SELECT pg_try_advisory_xact_lock($1) AS locked",
          RELAY_LOCK_KEY,
        );
        if (!lock?.locked) return 0;
        const rows = await tx.$queryRawUnsafe<OutboxRow[]>(
          `SELECT seq, id::text AS id, topic, key, type, schema_version, payload, correlation_id, causation_id, occurred_at
             FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $1`,
          batchSize,
        );
        if (rows.length === 0) return 0;
        await producer.sendPrepared(rows.map(toPrepared(producer.source)));
        await this.opts.afterPublish?.(rows.map((r) => r.id));
        await tx.$executeRawUnsafe(
          "UPDATE outbox SET sent_at = now() WHERE seq = ANY($1::bigint[])",
          rows.map((r) => String(r.seq)),
        );
        return rows.length;
      },
      { timeout: 60_000, maxWait: 10_000 },
    );
  }

  private async loop(): Promise<void> {
    const log = this.opts.logger ?? silentLogger;
    let failures = 0;
    while (this.running) {
      let count = 0;
      try {
        count = await this.publishPending();
        this.published += count;
        failures = 0;
        await this.purgeSent();
      } catch (error) {
        failures++;
        log.warn({ err: error, failures }, "outbox relay: publish failed, will retry");
        await sleep(Math.min(100 * 2 ** failures, 5_000));
        continue;
      }
      if (count === (this.opts.batchSize ?? 500)) continue; // more are waiting
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.opts.pollIntervalMs ?? 200);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private async purgeSent(): Promise<void> {
    if (Date.now() - this.lastPurge < 60_000) return;
    this.lastPurge = Date.now();
    const retainMs = this.opts.retainSentMs ?? 86_400_000;
    await this.opts.db.$executeRawUnsafe(
      "DELETE FROM outbox WHERE sent_at < now() - ($1::bigint * interval '1 millisecond')",
      retainMs,
    );
  }
}

function toPrepared(source: ServiceName) {
  return (row: OutboxRow): PreparedMessage => ({
    topic: row.topic,
    key: row.key,
    payload: row.payload,
    envelope: {
      id: row.id,
      type: row.type,
      schemaVersion: row.schema_version,
      source,
      occurredAt: new Date(row.occurred_at).toISOString(),
      correlationId: row.correlation_id,
      causationId: row.causation_id,
    },
  });
}
