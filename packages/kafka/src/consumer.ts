import type { AnyTopic, Envelope, EventPayload, EventTypeOf } from "@energy/contracts";
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import type { Registry } from "prom-client";
import { type Logger, type SqlClient, silentLogger, type TransactionalDb } from "./db.ts";
import { sendToDeadLetter } from "./dead-letter.ts";
import { parsePayload, readEnvelope } from "./decode.ts";
import { groupConsumer, runInGroup } from "./kafka.ts";
import { type RunnerMetricsFamily, registerRunnerMetrics } from "./metrics.ts";
import type { EventProducer } from "./producer.ts";
import { type RetryOptions, retryAfterFailure } from "./retry.ts";

export interface HandlerContext<Tx = undefined, S = unknown> {
  envelope: Envelope;
  /** catalog topic name (without prefix) */
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /**
   * The transaction that also records the envelope id (so the handler's effect happens once); undefined
   * only for a runner without a database.
   */
  tx: Tx;
  /** The service's context (config, database, producer, …) as the runner was given it. */
  service: S;
}

export type EventHandler<P, Tx = undefined, S = unknown> = (
  payload: P,
  ctx: HandlerContext<Tx, S>,
) => Promise<unknown>;

/** A handler per event type of a topic, each typed by its payload schema; types left out are skipped. */
export type EventHandlers<T extends AnyTopic, Tx = undefined, S = unknown> = {
  [K in EventTypeOf<T>]?: EventHandler<EventPayload<T, K>, Tx, S>;
};

export interface Subscription<Tx = undefined, S = unknown> {
  /** the catalog topic */
  topic: AnyTopic;
  /** event type → handler; event types of the topic without a handler are skipped */
  // biome-ignore lint/suspicious/noExplicitAny: erased per-event payload types (defineSubscription checks them)
  handlers: Record<string, EventHandler<any, Tx, S> | undefined>;
}

/**
 * A subscription to one topic, handlers keyed by its event types (the compiler refuses an event type the
 * topic does not declare, and types each payload from its schema). For a runner without a database; a
 * service with one uses `consumersFor<Tx, Context>()`, whose handlers get its transaction type.
 */
export function defineSubscription<T extends AnyTopic, S = unknown>(
  topic: T,
  handlers: EventHandlers<T, undefined, S>,
): Subscription<undefined, S> {
  return { topic, handlers };
}

export type ConsumerRunnerOptions<Tx = undefined, S = unknown> = {
  kafka: Kafka;
  /** the consumer group, one per service and purpose; the topic prefix is put in front of it */
  groupId: string;
  subscriptions: Subscription<Tx, S>[];
  /** used to send poison messages to `<topic>.dlq` */
  producer: EventProducer;
  /** an environment's namespace on a shared cluster: prefixes every topic and the consumer group */
  topicPrefix?: string;
  /** given to every handler as `ctx.service` */
  context?: S;
  /** new groups start at the beginning (projections rebuild by replay); default true */
  fromBeginning?: boolean;
  retry?: RetryOptions;
  /** the longest a fetch waits for new messages (default 500 ms) */
  maxWaitTimeMs?: number;
  logger?: Logger;
  /**
   * When given, each message is applied in a transaction that records its envelope id (exactly-once
   * effect) and handlers get it as `ctx.tx`. (Untyped subscriptions, Tx = undefined, take any database.)
   */
  // biome-ignore lint/suspicious/noExplicitAny: the deprecated untyped subscriptions cast ctx.tx themselves
  db?: TransactionalDb<Tx extends undefined ? any : Tx>;
};

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
export class ConsumerRunner<Tx = undefined, S = unknown> {
  private readonly consumer: Consumer;
  private readonly groupId: string;
  private readonly byTopic = new Map<string, Subscription<Tx, S> & { topic: AnyTopic }>();
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

  constructor(private readonly opts: ConsumerRunnerOptions<Tx, S>) {
    this.groupId = (opts.topicPrefix ?? "") + opts.groupId;
    this.consumer = groupConsumer(opts.kafka, { groupId: this.groupId, maxWaitTimeMs: opts.maxWaitTimeMs });
    for (const sub of opts.subscriptions) {
      this.byTopic.set(this.fullTopic(sub.topic.name), sub);
    }
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
    await runInGroup(this.consumer, {
      topics: [...this.byTopic.keys()],
      fromBeginning: this.opts.fromBeginning ?? true,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
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
    const lagKey = `${sub.topic.name}:${batch.partition}`;
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
    sub: Subscription<Tx, S> & { topic: AnyTopic },
    partition: number,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<boolean> {
    let outcome: Outcome;
    try {
      outcome = await this.apply(sub, partition, message); // the hot path: no retry bookkeeping
    } catch (error) {
      const hooks = { heartbeat, isStopping: () => this.stopping };
      const result = await retryAfterFailure(
        error,
        () => this.apply(sub, partition, message),
        this.opts.retry,
        {
          ...hooks,
          onFailure: (err, { kind, attempt, willRetry }) => {
            this.counters.errors++;
            const where = { topic: sub.topic.name, partition, offset: message.offset };
            if (!willRetry) {
              return this.log.warn({ ...where, err, attempts: attempt }, "sending message to the DLQ");
            }
            this.counters.retries++;
            this.log.warn({ ...where, err, attempt, kind }, "message failed, retrying");
          },
        },
      );
      if (result.status === "stopped") return false;
      if (result.status === "failed") {
        const origin = { topic: this.fullTopic(sub.topic.name), partition, groupId: this.groupId };
        const sent = await sendToDeadLetter(this.opts.producer, origin, message, result.error, {
          ...hooks,
          logger: this.log,
        });
        if (sent) this.counters.deadLettered++;
        return sent;
      }
      outcome = result.value;
    }
    if (outcome === "processed") this.counters.processed++;
    else if (outcome === "duplicate") this.counters.duplicates++;
    else this.counters.skipped++;
    return true;
  }

  private async apply(
    sub: Subscription<Tx, S> & { topic: AnyTopic },
    partition: number,
    message: KafkaMessage,
  ): Promise<Outcome> {
    const { envelope, schema } = readEnvelope(sub.topic.name, message);
    const handler = sub.handlers[envelope.type];
    if (!handler) return "skipped";
    const payload = parsePayload(schema, envelope.type, message);
    const base = {
      envelope,
      topic: sub.topic.name,
      partition,
      offset: message.offset,
      key: message.key ? message.key.toString("utf8") : null,
      service: this.opts.context as S,
    };
    const db = this.opts.db as TransactionalDb<Tx> | undefined;
    if (!db) {
      await handler(payload, { ...base, tx: undefined as Tx });
      return "processed";
    }
    return db.$transaction(async (tx) => {
      const inserted = await (tx as SqlClient).$executeRawUnsafe(
        "INSERT INTO processed_message (id, topic) VALUES ($1::uuid, $2) ON CONFLICT (id) DO NOTHING",
        envelope.id,
        sub.topic.name,
      );
      if (inserted === 0) return "duplicate" as const;
      await handler(payload, { ...base, tx });
      return "processed" as const;
    });
  }

  /**
   * Exposes the counters and lag as Prometheus metrics on a service's registry (`kafka_consumer_*`,
   * labelled by group); any number of runners may register on one registry.
   */
  registerMetrics(registry: Registry): void {
    registerRunnerMetrics(registry, CONSUMER_METRICS, {
      group: this.groupId,
      counters: () => this.counters,
      lag: () => this.counters.lag,
    });
  }
}

const CONSUMER_METRICS: RunnerMetricsFamily<Exclude<keyof ConsumerStats, "lag">> = {
  counters: [
    { name: "kafka_consumer_messages_processed_total", help: "Messages applied", field: "processed" },
    {
      name: "kafka_consumer_messages_duplicate_total",
      help: "Messages seen before, not applied again",
      field: "duplicates",
    },
    {
      name: "kafka_consumer_messages_dead_lettered_total",
      help: "Messages sent to the DLQ",
      field: "deadLettered",
    },
    { name: "kafka_consumer_errors_total", help: "Handler failures (each attempt)", field: "errors" },
    { name: "kafka_consumer_retries_total", help: "Retries after a failure", field: "retries" },
  ],
  lag: { name: "kafka_consumer_lag", help: "Messages behind the end of the partition" },
};
