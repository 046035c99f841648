import type { AnyTopic, EventPayload, EventTypeOf } from "@energy/contracts";
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import type { Registry } from "prom-client";
import { type Logger, silentLogger } from "./db.ts";
import { sendToDeadLetter } from "./dead-letter.ts";
import { type DecodedMessage, decodeMessage } from "./decode.ts";
import { groupConsumer, runInGroup } from "./kafka.ts";
import { type RunnerMetricsFamily, registerRunnerMetrics } from "./metrics.ts";
import type { EventProducer } from "./producer.ts";
import { type FailureInfo, type RetryOptions, retrying, type WaitHooks } from "./retry.ts";

export interface BatchContext<S = unknown> {
  /** The service's context (config, database, producer, …) as the runner was given it. */
  service: S;
  /** catalog topic name (without prefix) */
  topic: string;
  partition: number;
  /** 1 on the first call with these messages, 2 on the first retry, … */
  attempt: number;
  /** true while the runner isolates a failed chunk: the handler then gets its messages one at a time */
  isolating: boolean;
  /** keeps the group membership alive; call it during work that may take longer than a few seconds */
  heartbeat(): Promise<void>;
  /** messages of the partition after this chunk as its fetch saw them (the high watermark's distance): a backlog */
  behind: number;
}

/**
 * Applies decoded messages of one topic-partition, in offset order. Must be idempotent: see
 * BatchConsumerRunner.
 */
export type BatchHandler<P, S = unknown> = (
  messages: DecodedMessage<P>[],
  ctx: BatchContext<S>,
) => Promise<void>;

/** The payload of any event of a topic. */
export type AnyEventPayload<T extends AnyTopic> = {
  [K in EventTypeOf<T>]: EventPayload<T, K>;
}[EventTypeOf<T>];

export interface BatchSubscription<S = unknown> {
  /** the catalog topic */
  topic: AnyTopic;
  /** gets every event type the catalog declares for the topic; tell them apart by `envelope.type` */
  // biome-ignore lint/suspicious/noExplicitAny: erased payload type (defineBatchSubscription checks it)
  handler: BatchHandler<any, S>;
  /**
   * Skip the contract check of each payload (the envelope and its event type are still checked). Only for
   * a service reading a topic it alone produces, which checked every payload before producing it: at tens
   * of thousands of messages a second the second check costs as much as the handler's own work.
   */
  trustedPayload?: boolean;
}

/**
 * A batch subscription to one topic: the handler gets chunks of its messages, each payload typed by the
 * topic's schemas. See BatchSubscription.trustedPayload for `options`.
 */
export function defineBatchSubscription<T extends AnyTopic, S = unknown>(
  topic: T,
  handler: BatchHandler<AnyEventPayload<T>, S>,
  options: { trustedPayload?: boolean } = {},
): BatchSubscription<S> {
  return { topic, handler, ...options };
}

export interface BatchConsumerRunnerOptions<S = unknown> {
  kafka: Kafka;
  /** the consumer group, one per service and purpose; the topic prefix is put in front of it */
  groupId: string;
  subscriptions: BatchSubscription<S>[];
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
  /**
   * the least a fetch brings, bytes (default 1: the broker answers as soon as anything is there): under a
   * steady flow, larger chunks and fewer handler calls, each at most maxWaitTimeMs later
   */
  minBytes?: number;
  /** the most messages handed to the handler at once (default 2000); a larger fetch is split */
  maxBatchSize?: number;
  /** partitions handled at the same time, each in offset order (default 1), by each of the consumers */
  partitionsConsumedConcurrently?: number;
  /**
   * kafkajs consumers of the group in this runner (default 1), sharing its partitions. A kafkajs consumer
   * fetches again only once every chunk of its last fetch is applied, so one consumer leaves the database
   * idle while it fetches and decodes; with two, one applies while the other fetches.
   */
  consumers?: number;
  logger?: Logger;
}

export interface BatchConsumerStats {
  /** messages applied (in a chunk or one by one) */
  processed: number;
  deadLettered: number;
  /** retries after a failure, of a chunk or of one message */
  retries: number;
  /** failures: each failed handler call, and each message that could not be decoded */
  errors: number;
  /** chunks applied by one handler call */
  batches: number;
  /** messages behind the end of each partition, by "topic:partition" */
  lag: Record<string, number>;
}

type Entry = { message: KafkaMessage; decoded: DecodedMessage; error?: undefined } | PoisonEntry;
type PoisonEntry = { message: KafkaMessage; decoded?: undefined; error: unknown };

/**
 * Runs a kafkajs consumer that hands its handler whole chunks of decoded messages (up to `maxBatchSize`
 * of one topic-partition, in offset order), for throughput: ingestion applies ~25,000 readings a second.
 *
 * Same rules as ConsumerRunner otherwise. Each message is decoded and validated against the contracts;
 * poison (no or invalid envelope, an event type the catalog does not declare for the topic, not JSON, a
 * payload that breaks its contract) goes to `<topic>.dlq` with the same headers, and the rest of the
 * chunk goes on. Offsets are resolved only for messages applied or dead-lettered, and committed after each
 * chunk. A failing chunk is sorted by classifyError: transient failures retry the whole chunk with capped
 * backoff (heartbeating, offsets uncommitted) until it works; a FatalMessageError at once, or an unknown
 * failure after `retry.maxAttempts`, makes the runner apply that chunk message by message (each with its
 * own retries), so that only the offending message goes to the DLQ and the others are applied.
 *
 * **Idempotency is the handler's business.** Unlike ConsumerRunner this runner keeps no
 * `processed_message` record: the same messages reach the handler again after a retry (the whole chunk),
 * while isolating a failure (every message of the chunk, one at a time), after a crash or a rebalance
 * before the commit, and when an outbox relay published twice. Meant for handlers that apply a chunk in one
 * database transaction and dedupe by a natural key in that transaction (e.g. `INSERT … ON CONFLICT
 * (der_id, measured_at) DO NOTHING`), so applying a message twice has the effect of applying it once.
 */
export class BatchConsumerRunner<S = unknown> {
  private readonly consumers: Consumer[];
  private readonly groupId: string;
  private readonly byTopic = new Map<string, BatchSubscription<S> & { topic: AnyTopic }>();
  private stopping = false;
  private readonly counters: BatchConsumerStats = {
    processed: 0,
    deadLettered: 0,
    retries: 0,
    errors: 0,
    batches: 0,
    lag: {},
  };

  constructor(private readonly opts: BatchConsumerRunnerOptions<S>) {
    if (opts.maxBatchSize !== undefined && !(Number.isInteger(opts.maxBatchSize) && opts.maxBatchSize > 0)) {
      throw new RangeError(`maxBatchSize must be a positive integer, got ${opts.maxBatchSize}`);
    }
    const consumers = opts.consumers ?? 1;
    if (!(Number.isInteger(consumers) && consumers > 0)) {
      throw new RangeError(`consumers must be a positive integer, got ${opts.consumers}`);
    }
    this.groupId = (opts.topicPrefix ?? "") + opts.groupId;
    this.consumers = Array.from({ length: consumers }, () =>
      groupConsumer(opts.kafka, {
        groupId: this.groupId,
        maxWaitTimeMs: opts.maxWaitTimeMs,
        minBytes: opts.minBytes,
      }),
    );
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

  stats(): BatchConsumerStats {
    return { ...this.counters, lag: { ...this.counters.lag } };
  }

  /** Connects, subscribes and starts consuming; resolves once every consumer has joined the group. */
  async start(): Promise<void> {
    this.stopping = false;
    await Promise.all(
      this.consumers.map((consumer) =>
        runInGroup(consumer, {
          topics: [...this.byTopic.keys()],
          fromBeginning: this.opts.fromBeginning ?? true,
          partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? 1,
          eachBatch: (payload) => this.eachBatch(payload),
        }),
      ),
    );
  }

  /** Finishes the chunk in hand (unless it is waiting to retry), commits what was applied, leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.consumers.map((consumer) => consumer.disconnect()));
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const sub = this.byTopic.get(batch.topic);
    if (!sub) return;
    const size = this.opts.maxBatchSize ?? 2_000;
    const hooks: WaitHooks = { heartbeat, isStopping: () => this.stopping };
    /** messages of the partition after `offset`, as this fetch saw them */
    const after = (offset: string) => Math.max(0, Number(batch.highWatermark) - Number(offset) - 1);
    for (let start = 0; start < batch.messages.length; start += size) {
      if (this.stopping || !isRunning() || isStale()) break;
      const chunk = batch.messages.slice(start, start + size);
      const behind = after(chunk.at(-1)!.offset);
      const done = await this.applyChunk(sub, batch.partition, chunk, { ...hooks, behind });
      if (done !== undefined) {
        resolveOffset(done);
        this.counters.lag[`${sub.topic.name}:${batch.partition}`] = after(done);
        await payload.commitOffsetsIfNecessary(payload.uncommittedOffsets());
      }
      if (done !== chunk.at(-1)!.offset) break; // stopping part-way: the rest stays uncommitted
      await heartbeat();
    }
  }

  /**
   * Applies one chunk: its valid messages in one handler call (retried, or isolated one by one when
   * that fails for good), its poison to the DLQ. Returns the offset up to which every message was applied
   * or dead-lettered: the chunk's last unless the runner stopped part-way.
   */
  private async applyChunk(
    sub: BatchSubscription<S> & { topic: AnyTopic },
    partition: number,
    messages: KafkaMessage[],
    hooks: WaitHooks & { behind: number },
  ): Promise<string | undefined> {
    const entries: Entry[] = messages.map((message) => {
      try {
        return { message, decoded: decodeMessage(sub.topic.name, partition, message, sub.trustedPayload) };
      } catch (error) {
        return { message, error };
      }
    });
    const valid = entries.flatMap((e) => (e.decoded ? [e.decoded] : []));
    let isolating = false;
    let chunkError: unknown;
    if (valid.length > 0) {
      const result = await retrying(
        (attempt) =>
          sub.handler(valid, {
            service: this.opts.context as S,
            topic: sub.topic.name,
            partition,
            attempt,
            isolating: false,
            heartbeat: hooks.heartbeat,
            behind: hooks.behind,
          }),
        this.opts.retry,
        { ...hooks, onFailure: (err, info) => this.failed(err, info, sub, partition, valid) },
      );
      if (result.status === "stopped") return undefined;
      if (result.status === "failed") {
        isolating = true;
        chunkError = result.error;
      } else {
        this.counters.processed += valid.length;
        this.counters.batches++;
      }
    }
    let done: string | undefined;
    for (const entry of entries) {
      let finished = true;
      if (!entry.decoded) {
        this.counters.errors++;
        this.log.warn(
          { topic: sub.topic.name, partition, offset: entry.message.offset, err: entry.error },
          "sending message to the DLQ",
        );
        finished = await this.deadLetter(sub, partition, entry.message, entry.error, hooks);
      } else if (isolating && valid.length === 1) {
        // the chunk was this one message: its failure is already known
        finished = await this.deadLetter(sub, partition, entry.message, chunkError, hooks);
      } else if (isolating) {
        finished = await this.applyOne(sub, partition, entry.message, entry.decoded, hooks);
      }
      if (!finished) break;
      done = entry.message.offset;
    }
    return done;
  }

  /** Applies one message of an isolated chunk, with its own retries; false when stopped before. */
  private async applyOne(
    sub: BatchSubscription<S> & { topic: AnyTopic },
    partition: number,
    message: KafkaMessage,
    decoded: DecodedMessage,
    hooks: WaitHooks & { behind: number },
  ): Promise<boolean> {
    const result = await retrying(
      (attempt) =>
        sub.handler([decoded], {
          service: this.opts.context as S,
          topic: sub.topic.name,
          partition,
          attempt,
          isolating: true,
          heartbeat: hooks.heartbeat,
          behind: hooks.behind,
        }),
      this.opts.retry,
      { ...hooks, onFailure: (err, info) => this.failed(err, info, sub, partition, [decoded]) },
    );
    if (result.status === "stopped") return false;
    if (result.status === "failed") return this.deadLetter(sub, partition, message, result.error, hooks);
    this.counters.processed++;
    return true;
  }

  private failed(
    err: unknown,
    { kind, attempt, willRetry }: FailureInfo,
    sub: BatchSubscription<S> & { topic: AnyTopic },
    partition: number,
    messages: DecodedMessage[],
  ): void {
    this.counters.errors++;
    const where = {
      topic: sub.topic.name,
      partition,
      offsets:
        messages.length === 1 ? messages[0]!.offset : `${messages[0]!.offset}-${messages.at(-1)!.offset}`,
    };
    if (willRetry) {
      this.counters.retries++;
      this.log.warn({ ...where, err, attempt, kind }, "handler failed, retrying");
    } else if (messages.length > 1) {
      this.log.warn(
        { ...where, err, attempts: attempt, kind },
        "chunk failed, applying it message by message",
      );
    } else {
      this.log.warn({ ...where, err, attempts: attempt }, "sending message to the DLQ");
    }
  }

  private async deadLetter(
    sub: BatchSubscription<S> & { topic: AnyTopic },
    partition: number,
    message: KafkaMessage,
    error: unknown,
    hooks: WaitHooks,
  ): Promise<boolean> {
    const origin = { topic: this.fullTopic(sub.topic.name), partition, groupId: this.groupId };
    const sent = await sendToDeadLetter(this.opts.producer, origin, message, error, {
      ...hooks,
      logger: this.log,
    });
    if (sent) this.counters.deadLettered++;
    return sent;
  }

  /**
   * Exposes the counters and lag as Prometheus metrics on a service's registry (`kafka_batch_consumer_*`,
   * labelled by group, beside ConsumerRunner's `kafka_consumer_*`); any number of runners may register
   * on one registry.
   */
  registerMetrics(registry: Registry): void {
    registerRunnerMetrics(registry, BATCH_CONSUMER_METRICS, {
      group: this.groupId,
      counters: () => this.counters,
      lag: () => this.counters.lag,
    });
  }
}

/**
 * The same `kafka_batch_consumer_*` series for a batch runner that lives elsewhere (service-kit's worker
 * thread runner), fed from the stats it last reported.
 */
export function registerBatchConsumerMetrics(
  registry: Registry,
  group: string,
  stats: () => BatchConsumerStats,
): void {
  registerRunnerMetrics(registry, BATCH_CONSUMER_METRICS, {
    group,
    counters: () => stats(),
    lag: () => stats().lag,
  });
}

const BATCH_CONSUMER_METRICS: RunnerMetricsFamily<Exclude<keyof BatchConsumerStats, "lag">> = {
  counters: [
    {
      name: "kafka_batch_consumer_messages_processed_total",
      help: "Messages applied by a batch handler",
      field: "processed",
    },
    {
      name: "kafka_batch_consumer_messages_dead_lettered_total",
      help: "Messages sent to the DLQ by a batch consumer",
      field: "deadLettered",
    },
    {
      name: "kafka_batch_consumer_errors_total",
      help: "Batch handler failures (each attempt) and undecodable messages",
      field: "errors",
    },
    {
      name: "kafka_batch_consumer_retries_total",
      help: "Retries after a batch handler failure",
      field: "retries",
    },
    {
      name: "kafka_batch_consumer_batches_total",
      help: "Chunks applied by one batch handler call",
      field: "batches",
    },
  ],
  lag: {
    name: "kafka_batch_consumer_lag",
    help: "Messages behind the end of the partition (batch consumer)",
  },
};
