import type { AnyTopic, EventInput, EventTypeOf, ServiceName } from "@energy/contracts";
import { Counter, Gauge, type Registry } from "prom-client";
import { type Logger, type SqlClient, silentLogger, sleep, type TransactionalDb } from "./db.ts";
import {
  checkMessageSize,
  MessageTooLargeError,
  maxMessageBytes,
  preparedMessageBytes,
} from "./message-size.ts";
import {
  type EventOptions,
  type EventProducer,
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
): Promise<string>;
export async function enqueueEvent(
  tx: SqlClient,
  topic: AnyTopic,
  type: string,
  payload?: unknown,
  options?: EventOptions,
): Promise<string> {
  const outgoing = { topic, type, payload, ...(options ? { options } : {}) };
  const [id] = await enqueueEvents(tx, [outgoing]);
  return id!;
}

/**
 * Many events into the outbox with one INSERT, inside the caller's transaction, in the given order
 * (the relay publishes them in that order). Each is validated like enqueueEvent's, and checked against
 * the broker's message size limit (a row the broker can never take would only be dead-lettered by the
 * relay). Returns their ids.
 *
 * `trustedPayload` skips the second parse of each payload by its contract (the event type is still
 * checked, and the size): only for payloads the caller built from the contract's own types out of values
 * it checked itself, where parsing them again costs as much as making them (meter-read's 10,000 reads per
 * request). The compiler still types them by the topic's schema through `event()`.
 */
export async function enqueueEvents(
  tx: SqlClient,
  events: readonly OutgoingEvent[],
  opts: { trustedPayload?: boolean } = {},
): Promise<string[]> {
  if (events.length === 0) return [];
  const rows = outboxRows(events, opts);
  const [ids, topicNames, keys, types, versions, payloads, correlations, causations, occurred] = rows.values;
  await tx.$executeRawUnsafe(
    // WITH ORDINALITY + ORDER BY: seq follows the order of `events` (the order the relay publishes in).
    // The payloads go as one JSON array (one text parameter), not as a jsonb[] literal, whose quoting of
    // every '"' in every payload cost as much CPU as encoding them (meter-read's ~350 KB payloads); read as
    // json, each element keeps its text (a json column stores it as it is, a jsonb one converts it).
    `INSERT INTO outbox (${OUTBOX_COLUMNS})
     SELECT e.id, e.topic, e.key, e.type, e.schema_version, p.payload, e.correlation_id, e.causation_id, e.occurred_at
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $7::text[], $8::text[],
                   $9::timestamptz[]) WITH ORDINALITY
            AS e(id, topic, key, type, schema_version, correlation_id, causation_id, occurred_at, n)
       JOIN json_array_elements($6::json) WITH ORDINALITY AS p(payload, n) ON p.n = e.n
      ORDER BY e.n`,
    ids,
    topicNames,
    keys,
    types,
    versions,
    `[${(payloads as string[]).join(",")}]`,
    correlations,
    causations,
    occurred,
  );
  return rows.ids;
}

/** The outbox columns an insert of `outboxRows` fills, in the order of its arrays. */
export const OUTBOX_COLUMNS =
  "id, topic, key, type, schema_version, payload, correlation_id, causation_id, occurred_at";

/**
 * The rows of `outboxRows` as a table `e` (its columns OUTBOX_COLUMNS and `n`, the events' order), the
 * nine arrays bound from parameter `$first` on: `INSERT INTO outbox (OUTBOX_COLUMNS) SELECT OUTBOX_COLUMNS
 * FROM <this> ORDER BY e.n` keeps the order of `events` in seq (the order the relay publishes in).
 */
export const outboxUnnest = (first: number) => {
  const types = ["uuid", "text", "text", "text", "int", "jsonb", "text", "text", "timestamptz"];
  const arrays = types.map((t, i) => `$${first + i}::${t}[]`).join(", ");
  return `unnest(${arrays}) WITH ORDINALITY AS e(${OUTBOX_COLUMNS}, n)`;
};

/**
 * Events as outbox rows, validated like enqueueEvent's and checked against the broker's message size
 * limit: the nine arrays of `outboxUnnest` and the events' ids. For a statement that inserts them along
 * with other rows (one round trip for a batch of calls); enqueueEvents is built on it.
 */
export function outboxRows(
  events: readonly OutgoingEvent[],
  opts: { trustedPayload?: boolean } = {},
): { ids: string[]; values: unknown[][] } {
  // The envelope's source is the relay's producer's (the outbox row does not keep it).
  const prepared = events.map((e) => prepareEvent(e.topic.owner, e, opts));
  const payloads = prepared.map((m) => JSON.stringify(m.payload));
  for (const [i, m] of prepared.entries()) checkMessageSize(m, maxMessageBytes(), payloads[i]);
  const column = <V>(pick: (m: PreparedMessage) => V) => prepared.map(pick);
  return {
    ids: prepared.map((m) => m.envelope.id),
    values: [
      column((m) => m.envelope.id),
      column((m) => m.topic),
      column((m) => m.key),
      column((m) => m.envelope.type),
      column((m) => m.envelope.schemaVersion),
      payloads,
      column((m) => m.envelope.correlationId),
      column((m) => m.envelope.causationId),
      column((m) => m.envelope.occurredAt),
    ],
  };
}

interface OutboxRow {
  seq: bigint | number | string;
  id: string;
  topic: string;
  key: string;
  type: string;
  schema_version: number;
  /** the payload's JSON, as its column gives it as text */
  payload: string;
  /**
   * the payload column's type: json or text (the text as it was written) or jsonb (PostgreSQL's own spacing)
   */
  payload_type: string;
  correlation_id: string;
  causation_id: string | null;
  occurred_at: Date | string;
}

export interface OutboxRelayOptions {
  db: TransactionalDb;
  producer: EventProducer;
  /** rows read and sent per page (default 500) */
  batchSize?: number;
  /**
   * pages one transaction publishes (default 20): the next page is read, and the last marked sent, while a
   * page is on its way to the broker
   */
  pagesPerTransaction?: number;
  /** how long to sleep when the outbox is empty and nobody nudged */
  pollIntervalMs?: number;
  /** sent rows are deleted after this long (default one day); dead-lettered rows are kept */
  retainSentMs?: number;
  logger?: Logger;
  /** called after the broker acknowledged a batch and before the rows are marked: fault injection in tests */
  afterPublish?: (ids: string[]) => Promise<void> | void;
}

export interface OutboxRelayStats {
  /** rows the broker acknowledged */
  published: number;
  /** rows moved aside because they can never be published */
  deadLettered: number;
  /** publish attempts that failed and will be retried */
  failures: number;
}

/** Advisory lock key: only one relay per database publishes at a time, which keeps key order. */
const RELAY_LOCK_KEY = 7_242_001;

/**
 * The broker's answers that say "this message will never be accepted", whatever the retries: too large
 * for the broker or topic (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE), or refused as malformed
 * (INVALID_RECORD; CORRUPT_MESSAGE once kafkajs's own retries gave up; INVALID_TIMESTAMP). Types as in
 * kafkajs's src/protocol/error.js. Everything else (leader changes, timeouts, a broker down, a missing
 * topic, authorization) is about the cluster, not the row: it is retried, in order.
 */
const REFUSED = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  "CORRUPT_MESSAGE",
  "INVALID_TIMESTAMP",
]);

/** Why the broker refused a send for good ("MESSAGE_TOO_LARGE: …"), or null for a failure worth retrying. */
export function brokerRefusal(error: unknown): string | null {
  let e = error as { type?: unknown; message?: unknown; cause?: unknown } | null | undefined;
  for (let depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    if (typeof e.type === "string" && REFUSED.has(e.type)) return `${e.type}: ${String(e.message)}`;
    e = e.cause as typeof e;
  }
  return null;
}

interface Pending {
  row: OutboxRow;
  message: PreparedMessage;
}

interface SendOutcome {
  sent: OutboxRow[];
  dead: Array<{ row: OutboxRow; reason: string; bytes: number }>;
  /** a failure worth retrying, after `sent` and `dead` (which are marked anyway) */
  error?: unknown;
}

/**
 * Publishes outbox rows in `seq` order (the order they were inserted; a row whose transaction has not
 * committed yet is not seen, so rows of concurrent transactions can go out in either order, while one
 * transaction's rows, and one entity's changes made under its lock, keep theirs), marks them sent in the
 * same transaction, and resumes after a crash: a row published but not marked is published again, and consumers drop the
 * duplicate by its envelope id.
 *
 * No row can block the ones after it: a row that can never be published (over the message size limit,
 * or refused by the broker as too large or invalid) is marked dead-lettered with its reason
 * (`dead_lettered_at`, `dead_letter_reason`), logged and counted, and the rows after it go out. A batch
 * the broker refuses is split in halves until the offending rows are found. Any other failure (the
 * broker unreachable, a leader election) leaves the rows pending and is retried in order.
 */
export class OutboxRelay {
  private running = false;
  private loopDone: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private lastPurge = 0;
  /** the last transaction stopped at its page limit with a full page: more are waiting */
  private lastPageFull = false;
  private readonly counters: OutboxRelayStats = { published: 0, deadLettered: 0, failures: 0 };
  private logger: Logger;

  constructor(private readonly opts: OutboxRelayOptions) {
    this.logger = opts.logger ?? silentLogger;
  }

  /**
   * Makes the relay seen through a service-kit app (built after the relay, which the app's routes nudge):
   * its metrics on `app.metrics` and its log lines (a dead-lettered row, a failed publish) in `app.log`.
   */
  attach(app: { metrics: Registry; log: Logger & { child(bindings: object): Logger } }): void {
    this.logger = app.log.child({ component: "outbox-relay" });
    this.registerMetrics(app.metrics);
  }

  /** rows the broker acknowledged so far */
  get published(): number {
    return this.counters.published;
  }

  stats(): OutboxRelayStats {
    return { ...this.counters };
  }

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

  /**
   * Publishes pending rows in one transaction (under the relay's lock): pages of `batchSize` rows in `seq`
   * order, up to `pagesPerTransaction` of them, pipelined: while one page is on its way to the broker the
   * next is read and the one before is marked sent, so the broker, PostgreSQL and this process work at
   * once. The sends themselves go one at a time, in order (one idempotent producer, one request in
   * flight), so per-key order is the outbox's. Returns how many rows it settled (published or
   * dead-lettered). Throws after marking what it settled when the rest failed in a way worth retrying.
   */
  async publishPending(): Promise<number> {
    const { db } = this.opts;
    const batchSize = this.opts.batchSize ?? 500;
    const maxPages = Math.max(1, this.opts.pagesPerTransaction ?? 20);
    this.lastPageFull = false;
    const outcome = await db.$transaction(
      async (tx: SqlClient): Promise<SendOutcome> => {
        const total: SendOutcome = { sent: [], dead: [] };
        const [lock] = await tx.$queryRawUnsafe<Array<{ locked: boolean }>>(
          "SELECT pg_try_advisory_xact_lock($1) AS locked",
          RELAY_LOCK_KEY,
        );
        if (!lock?.locked) return total;
        const fetchPage = (after: string | null) =>
          tx.$queryRawUnsafe<OutboxRow[]>(
            // The page's rows are picked first (seq only) and their payloads read after: with the payload in
            // the same scan, PostgreSQL's plan of choice for a large backlog (a bitmap scan of every pending
            // row, then the first ones by seq) read and printed every pending payload for each page of 500
            // (5.9 s for a page at 48,000 pending issuance requests).
            // The payload as text: a json or text column's is sent as it is (parsing it only to encode it again
            // cost more than the send; a text column holds JSON its service wrote itself, see meter-read's
            // outbox_text migration); a jsonb column's text has a space after every ':' and ',', which could take
            // a message checked at its compact size over the broker's limit, so it is compacted (toPrepared).
            `SELECT o.seq, o.id::text AS id, o.topic, o.key, o.type, o.schema_version, o.payload::text AS payload,
                    pg_typeof(o.payload)::text AS payload_type, o.correlation_id, o.causation_id, o.occurred_at
               FROM (SELECT seq FROM outbox
                      WHERE sent_at IS NULL AND dead_lettered_at IS NULL AND seq > $2::bigint
                      ORDER BY seq LIMIT $1) AS page
               JOIN outbox o ON o.seq = page.seq
              ORDER BY o.seq`,
            batchSize,
            after ?? "-1",
          );
        const mark = async (result: SendOutcome) => {
          if (result.sent.length > 0) {
            await this.opts.afterPublish?.(result.sent.map((r) => r.id));
            await tx.$executeRawUnsafe(
              "UPDATE outbox SET sent_at = now() WHERE seq = ANY($1::bigint[])",
              result.sent.map((r) => String(r.seq)),
            );
          }
          if (result.dead.length > 0) {
            await tx.$executeRawUnsafe(
              `UPDATE outbox SET dead_lettered_at = now(), dead_letter_reason = d.reason
                 FROM unnest($1::bigint[], $2::text[]) AS d(seq, reason) WHERE outbox.seq = d.seq`,
              result.dead.map((d) => String(d.row.seq)),
              result.dead.map((d) => d.reason),
            );
          }
        };
        const prepare = toPrepared(this.opts.producer.source);
        // The transaction's statements go one after the other on its connection (the next page, the marks);
        // each promise is awaited below, the catch only keeps a failure from being reported as unhandled
        // before that (a failed read or mark fails the transaction: nothing is marked, what was sent goes
        // again and consumers drop the duplicates by envelope id).
        let sql: Promise<unknown> = Promise.resolve();
        let page = await fetchPage(null);
        for (let pages = 1; page.length > 0; pages++) {
          const sending = this.send(page.map((row) => ({ row, message: prepare(row) })));
          const full = page.length === batchSize;
          const after = String(page[page.length - 1]!.seq);
          const next: Promise<OutboxRow[]> =
            full && pages < maxPages ? sql.then(() => fetchPage(after)) : Promise.resolve([]);
          next.catch(() => {});
          sql = next;
          const result = await sending;
          total.sent.push(...result.sent);
          total.dead.push(...result.dead);
          sql = sql.then(() => mark(result));
          sql.catch(() => {});
          if (result.error !== undefined) {
            total.error = result.error;
            break;
          }
          if (full && pages >= maxPages) this.lastPageFull = true;
          page = await next;
        }
        await sql;
        return total;
      },
      { timeout: 120_000, maxWait: 10_000 },
    );
    this.counters.published += outcome.sent.length;
    this.counters.deadLettered += outcome.dead.length;
    const log = this.logger;
    for (const { row, reason, bytes } of outcome.dead) {
      log.error(
        {
          outbox: { seq: String(row.seq), id: row.id, topic: row.topic, key: row.key, type: row.type, bytes },
          reason,
        },
        "outbox relay: event dead-lettered, it can never be published (the row stays in the outbox table)",
      );
    }
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.sent.length + outcome.dead.length;
  }

  /**
   * Sends rows in order, in chunks that fit the message size limit together (the broker limits each
   * partition's record batch, not only each message). Rows over the limit on their own are dead-lettered
   * unsent.
   */
  private async send(pending: Pending[]): Promise<SendOutcome> {
    const outcome: SendOutcome = { sent: [], dead: [] };
    const limit = maxMessageBytes();
    let chunk: Pending[] = [];
    let chunkBytes = 0;
    try {
      for (const p of pending) {
        const bytes = preparedMessageBytes(p.message);
        if (bytes > limit) {
          const reason = new MessageTooLargeError(bytes, limit, `${p.row.type} on ${p.row.topic}`).message;
          outcome.dead.push({ row: p.row, reason, bytes });
          continue;
        }
        if (chunk.length > 0 && chunkBytes + bytes > limit) {
          await this.sendIsolating(chunk, outcome);
          chunk = [];
          chunkBytes = 0;
        }
        chunk.push(p);
        chunkBytes += bytes;
      }
      if (chunk.length > 0) await this.sendIsolating(chunk, outcome);
    } catch (error) {
      outcome.error = error;
    }
    return outcome;
  }

  /**
   * Sends a chunk; when the broker refuses it for good, splits it in halves (in order) until each refused
   * row is alone, and dead-letters that row. A failure worth retrying is thrown, leaving the rest pending.
   */
  private async sendIsolating(chunk: Pending[], outcome: SendOutcome): Promise<void> {
    try {
      await this.opts.producer.sendPrepared(chunk.map((p) => p.message));
      outcome.sent.push(...chunk.map((p) => p.row));
    } catch (error) {
      const refusal = error instanceof MessageTooLargeError ? error.message : brokerRefusal(error);
      if (refusal === null) throw error;
      // Other partitions of the refused request may have been appended: the producer's sequence numbers
      // are now wrong for them, so the rest goes out on a fresh producer (those rows are sent again, and
      // consumers drop the duplicates by envelope id).
      if (!(error instanceof MessageTooLargeError)) await this.opts.producer.renew();
      const first = chunk[0];
      if (chunk.length === 1 && first) {
        const bytes = preparedMessageBytes(first.message);
        outcome.dead.push({ row: first.row, reason: `refused by the broker: ${refusal}`, bytes });
        return;
      }
      const half = Math.ceil(chunk.length / 2);
      await this.sendIsolating(chunk.slice(0, half), outcome);
      await this.sendIsolating(chunk.slice(half), outcome);
    }
  }

  /**
   * Exposes the relay on a service's registry: `outbox_published_total`, `outbox_dead_lettered_total`,
   * `outbox_publish_failures_total`, and, read from the table at each scrape, `outbox_pending` and
   * `outbox_oldest_pending_age_seconds` (which grow when the relay is stuck or the broker away).
   */
  registerMetrics(registry: Registry): void {
    const counters = this.counters;
    const counter = (name: string, help: string, field: keyof OutboxRelayStats) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(counters[field]);
        },
      });
    counter("outbox_published_total", "Outbox rows the broker acknowledged", "published");
    counter(
      "outbox_dead_lettered_total",
      "Outbox rows moved aside because they can never be published (see dead_letter_reason)",
      "deadLettered",
    );
    counter(
      "outbox_publish_failures_total",
      "Outbox publish attempts that failed and are retried",
      "failures",
    );
    registerOutboxBacklogMetrics(registry, this.opts.db, this.logger);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let count = 0;
      try {
        count = await this.publishPending();
        failures = 0;
        await this.purgeSent();
      } catch (error) {
        failures++;
        this.counters.failures++;
        this.logger.warn({ err: error, failures }, "outbox relay: publish failed, will retry");
        await sleep(Math.min(100 * 2 ** failures, 5_000));
        continue;
      }
      if (count > 0 && this.lastPageFull) continue; // more are waiting
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

export interface OutboxBacklog {
  /** rows neither sent nor dead-lettered */
  pending: number;
  /** seconds since the oldest pending row was written (0 when none is pending) */
  oldestPendingAgeSeconds: number;
}

/** What is waiting in a service's outbox. */
export async function outboxBacklog(db: SqlClient): Promise<OutboxBacklog> {
  const [row] = await db.$queryRawUnsafe<Array<{ pending: number | bigint | null; age: number | null }>>(
    `SELECT (SELECT count(*)::int FROM outbox WHERE sent_at IS NULL AND dead_lettered_at IS NULL) AS pending,
            (SELECT extract(epoch FROM now() - enqueued_at)::float8 FROM outbox
              WHERE sent_at IS NULL AND dead_lettered_at IS NULL ORDER BY seq LIMIT 1) AS age`,
  );
  return { pending: Number(row?.pending ?? 0), oldestPendingAgeSeconds: Math.max(0, Number(row?.age ?? 0)) };
}

/**
 * A readiness check (service-kit's `readiness`) that fails while the oldest unsent outbox row is older
 * than `maxPendingAgeMs`: the service's events are not getting out (broker away, relay stuck), so what it
 * acknowledges does not reach the rest of the platform.
 */
export function outboxReadiness(db: SqlClient, opts: { maxPendingAgeMs: number }): () => Promise<void> {
  return async () => {
    const { pending, oldestPendingAgeSeconds } = await outboxBacklog(db);
    if (oldestPendingAgeSeconds * 1000 > opts.maxPendingAgeMs) {
      throw new Error(
        `outbox: ${pending} event${pending === 1 ? "" : "s"} unsent, the oldest for ${Math.round(oldestPendingAgeSeconds)} s ` +
          `(more than ${opts.maxPendingAgeMs / 1000} s)`,
      );
    }
  };
}

/** `outbox_pending` and `outbox_oldest_pending_age_seconds`, read from the table at each scrape. */
export function registerOutboxBacklogMetrics(registry: Registry, db: SqlClient, logger?: Logger): void {
  // Both gauges come from one query, made at most once a second.
  let cached: { at: number; backlog: Promise<OutboxBacklog | null> } | null = null;
  const read = () => {
    if (!cached || Date.now() - cached.at > 1_000) {
      const backlog = outboxBacklog(db).catch((err: unknown) => {
        (logger ?? silentLogger).warn({ err }, "outbox metrics: could not read the outbox");
        return null;
      });
      cached = { at: Date.now(), backlog };
    }
    return cached.backlog;
  };
  new Gauge({
    name: "outbox_pending",
    help: "Outbox rows waiting to be published (neither sent nor dead-lettered)",
    registers: [registry],
    async collect() {
      const backlog = await read();
      if (backlog) this.set(backlog.pending);
    },
  });
  new Gauge({
    name: "outbox_oldest_pending_age_seconds",
    help: "Age of the oldest outbox row waiting to be published (0 when none waits)",
    registers: [registry],
    async collect() {
      const backlog = await read();
      if (backlog) this.set(backlog.oldestPendingAgeSeconds);
    },
  });
}

/** Payload column types whose text is the JSON as it was written (sent as it is). */
const AS_WRITTEN = new Set(["json", "text"]);

function toPrepared(source: ServiceName) {
  return (row: OutboxRow): PreparedMessage => ({
    topic: row.topic,
    key: row.key,
    payload: undefined,
    json: AS_WRITTEN.has(row.payload_type) ? row.payload : JSON.stringify(JSON.parse(row.payload)),
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
