import { type Envelope, findEventSchema } from "@energy/contracts";
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import type { Registry } from "prom-client";
import { Counter, Gauge } from "prom-client";
import { type Logger, type SqlClient, silentLogger, sleep, type TransactionalDb } from "./db.ts";
import { envelopeFromHeaders } from "./envelope.ts";
import { classifyError, describeZodError, FatalMessageError } from "./errors.ts";
import type { EventProducer } from "./producer.ts";

export interface HandlerContext {
  envelope: Envelope;
  /** catalog topic name (without prefix) */
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** the transaction that also records the envelope id; present when the runner has a db */
  tx: SqlClient | undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: each handler narrows its own payload type
export type EventHandler<P = any> = (payload: P, ctx: HandlerContext) => Promise<void>;

export interface Subscription {
  /** catalog topic name, e.g. "registry.device.v1" */
  topic: string;
  /** event type → handler; event types of the topic without a handler are skipped */
  handlers: Record<string, EventHandler>;
}

export interface ConsumerRunnerOptions {
  kafka: Kafka;
  /** the consumer group: one per service and purpose, never shared */
  groupId: string;
  subscriptions: Subscription[];
  /** used to send poison messages to `<topic>.dlq` */
  producer: EventProducer;
  topicPrefix?: string;
  /** when given, each message is applied in a transaction that records its envelope id (exactly-once effect) */
  db?: TransactionalDb;
  /** new groups start at the beginning (projections rebuild by replay); default true */
  fromBeginning?: boolean;
  retry?: { initialMs?: number; maxMs?: number; maxAttempts?: number };
  /** the longest a fetch waits for new messages (default 500 ms) */
  maxWaitTimeMs?: number;
  logger?: Logger;
}

export interface ConsumerStats {
  processed: number;
  duplicates: number;
  skipped: number;
  deadLettered: number;
  retries: number;
  errors: number;
  /** messages behind the end of each partition, by "topic:partition" */
  lag: Record<string, number>;
}

type Outcome = "processed" | "duplicate" | "skipped";

/**
 * Runs a kafkajs consumer the platform's way: validate with the contracts, apply each message once,
 * commit only what was applied, retry what may succeed later, dead-letter what never will.
 */
export class ConsumerRunner {
  private readonly consumer: Consumer;
  private readonly byTopic = new Map<string, Subscription>();
  private stopping = false;
  private readonly counters: ConsumerStats = {
    processed: 0,
    duplicates: 0,
    skipped: 0,
    deadLettered: 0,
    retries: 0,
    errors: 0,
    lag: {},
  };

  constructor(private readonly opts: ConsumerRunnerOptions) {
    this.consumer = opts.kafka.consumer({
      groupId: opts.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      // An idle partition is polled again after at most this long (kafkajs waits 5 s by default).
      maxWaitTimeInMs: opts.maxWaitTimeMs ?? 500,
      heartbeatInterval: 3_000,
    });
    for (const sub of opts.subscriptions) this.byTopic.set(this.fullTopic(sub.topic), sub);
  }

  private fullTopic(topic: string): string {
    return (this.opts.topicPrefix ?? "") + topic;
  }

  private get log(): Logger {
    return this.opts.logger ?? silentLogger;
  }

  stats(): ConsumerStats {
    return { ...this.counters, lag: { ...this.counters.lag } };
  }

  /** Connects, subscribes and starts consuming; resolves once the consumer has joined its group. */
  async start(): Promise<void> {
    this.stopping = false;
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: [...this.byTopic.keys()],
      fromBeginning: this.opts.fromBeginning ?? true,
    });
    const joined = new Promise<void>((resolve) => {
      const off = this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    await this.consumer.run({
      autoCommit: true,
      autoCommitInterval: 1_000,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    await joined;
  }

  /** Finishes the message in hand, commits what was applied, and leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer.disconnect();
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary } = payload;
    const sub = this.byTopic.get(batch.topic);
    if (!sub) return;
    const lagKey = `${sub.topic}:${batch.partition}`;
    let lastHeartbeat = Date.now();
    for (const message of batch.messages) {
      if (this.stopping || !isRunning() || isStale()) break;
      const applied = await this.applyWithRetry(sub, batch.partition, message, heartbeat);
      if (!applied) break; // stopping while retrying: leave the offset uncommitted
      resolveOffset(message.offset);
      this.counters.lag[lagKey] = Math.max(0, Number(batch.highWatermark) - Number(message.offset) - 1);
      if (Date.now() - lastHeartbeat > 1_000) {
        await heartbeat();
        await commitOffsetsIfNecessary();
        lastHeartbeat = Date.now();
      }
    }
  }

  /** Applies one message, retrying as its failure deserves; false when stopped before it was applied. */
  private async applyWithRetry(
    sub: Subscription,
    partition: number,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<boolean> {
    const initialMs = this.opts.retry?.initialMs ?? 100;
    const maxMs = this.opts.retry?.maxMs ?? 10_000;
    const maxAttempts = this.opts.retry?.maxAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.apply(sub, partition, message);
        if (outcome === "processed") this.counters.processed++;
        else if (outcome === "duplicate") this.counters.duplicates++;
        else this.counters.skipped++;
        return true;
      } catch (error) {
        this.counters.errors++;
        const kind = classifyError(error);
        const where = { topic: sub.topic, partition, offset: message.offset };
        if (kind === "fatal" || (kind === "unknown" && attempt >= maxAttempts)) {
          this.log.warn({ ...where, err: error, attempts: attempt }, "sending message to the DLQ");
          return this.deadLetter(sub, partition, message, error);
        }
        this.counters.retries++;
        this.log.warn({ ...where, err: error, attempt, kind }, "message failed, retrying");
        const delay = Math.min(initialMs * 2 ** (attempt - 1), maxMs);
        const until = Date.now() + delay;
        while (Date.now() < until) {
          if (this.stopping) return false;
          await sleep(Math.min(500, until - Date.now()));
          await heartbeat().catch(() => {});
        }
      }
    }
  }

  private async apply(sub: Subscription, partition: number, message: KafkaMessage): Promise<Outcome> {
    const envelope = envelopeFromHeaders(message.headers);
    const schema = findEventSchema(sub.topic, envelope.type);
    if (!schema)
      throw new FatalMessageError(`event type "${envelope.type}" is not in the catalog of ${sub.topic}`);
    const handler = sub.handlers[envelope.type];
    if (!handler) return "skipped";
    if (!message.value) throw new FatalMessageError("message has no value");
    const parsed = schema.safeParse(JSON.parse(message.value.toString("utf8")));
    if (!parsed.success) {
      const fields = describeZodError(parsed.error, "payload").map((i) => `${i.path}: ${i.message}`);
      throw new FatalMessageError(`invalid ${envelope.type}: ${fields.join("; ")}`);
    }
    const ctx: HandlerContext = {
      envelope,
      topic: sub.topic,
      partition,
      offset: message.offset,
      key: message.key ? message.key.toString("utf8") : null,
      tx: undefined,
    };
    const db = this.opts.db;
    if (!db) {
      await handler(parsed.data, ctx);
      return "processed";
    }
    return db.$transaction(async (tx: SqlClient) => {
      const inserted = await tx.$executeRawUnsafe(
        "INSERT INTO processed_message (id, topic) VALUES ($1::uuid, $2) ON CONFLICT (id) DO NOTHING",
        envelope.id,
        sub.topic,
      );
      if (inserted === 0) return "duplicate" as const;
      await handler(parsed.data, { ...ctx, tx });
      return "processed" as const;
    });
  }

  /** Sends the message to `<topic>.dlq` with its origin and the error; retried until the broker takes it. */
  private async deadLetter(
    sub: Subscription,
    partition: number,
    message: KafkaMessage,
    error: unknown,
  ): Promise<boolean> {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const headers: Record<string, string | Buffer> = {};
    for (const [k, v] of Object.entries(message.headers ?? {})) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : v;
    }
    Object.assign(headers, {
      "dlq-origin-topic": this.fullTopic(sub.topic),
      "dlq-origin-partition": String(partition),
      "dlq-origin-offset": message.offset,
      "dlq-consumer-group": this.opts.groupId,
      "dlq-error": reason.slice(0, 4_000),
      "dlq-failed-at": new Date().toISOString(),
    });
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.producer.sendRaw(`${this.fullTopic(sub.topic)}.dlq`, [
          { key: message.key, value: message.value, headers },
        ]);
        this.counters.deadLettered++;
        return true;
      } catch (sendError) {
        if (this.stopping) return false;
        this.log.error({ err: sendError, attempt }, "could not write to the DLQ, retrying");
        await sleep(Math.min(200 * 2 ** attempt, 10_000));
      }
    }
  }

  /** Exposes the counters and lag as Prometheus metrics on a service's registry. */
  registerMetrics(registry: Registry): void {
    const labels = { group: this.opts.groupId };
    const stats = () => this.counters;
    const counter = (name: string, help: string, field: keyof Omit<ConsumerStats, "lag">) =>
      new Counter({
        name,
        help,
        labelNames: ["group"],
        registers: [registry],
        collect() {
          this.reset();
          this.inc(labels, stats()[field]);
        },
      });
    counter("kafka_consumer_messages_processed_total", "Messages applied", "processed");
    counter(
      "kafka_consumer_messages_duplicate_total",
      "Messages seen before, not applied again",
      "duplicates",
    );
    counter("kafka_consumer_messages_dead_lettered_total", "Messages sent to the DLQ", "deadLettered");
    counter("kafka_consumer_errors_total", "Handler failures (each attempt)", "errors");
    counter("kafka_consumer_retries_total", "Retries after a failure", "retries");
    new Gauge({
      name: "kafka_consumer_lag",
      help: "Messages behind the end of the partition",
      labelNames: ["group", "topic", "partition"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [key, lag] of Object.entries(stats().lag)) {
          const i = key.lastIndexOf(":");
          this.set({ ...labels, topic: key.slice(0, i), partition: key.slice(i + 1) }, lag);
        }
      },
    });
  }
}
