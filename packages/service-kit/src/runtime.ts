import type { AnyTopic, ServiceName } from "@energy/contracts";
import {
  BatchConsumerRunner,
  type BatchSubscription,
  ConsumerRunner,
  createKafka,
  EventProducer,
  type KafkaConfig,
  OutboxRelay,
  outboxReadiness,
  type RetryOptions,
  type Subscription,
  setMaxMessageBytes,
  type TransactionalDb,
} from "@energy/kafka";
import type { FastifyBaseLogger } from "fastify";
import type { Admin, Kafka } from "kafkajs";
import type { z } from "zod";
import type { BaseConfig } from "./config.ts";
import { loadConfig } from "./config.ts";
import type { App } from "./create-app.ts";
import type { ReadinessChecks } from "./health.ts";
import { type Closer, type RunningService, runService } from "./run-service.ts";
import { type ThreadOptions, WorkerConsumerRunner } from "./worker-runner.ts";

/** A consumer group's runner: in the service's thread, or in a worker thread (`thread`). */
export type AnyRunner =
  | ConsumerRunner<unknown, unknown>
  | BatchConsumerRunner<unknown>
  | WorkerConsumerRunner;

/** What the runtime needs of a service's configuration: the base, Kafka and its database URL. */
export type RuntimeConfig = BaseConfig & KafkaConfig & { DATABASE_URL: string };

/** What the runtime needs of a service's database client (any generated PrismaClient). */
// biome-ignore lint/suspicious/noExplicitAny: the transaction client type is the service's own
export type RuntimeDb = TransactionalDb<any>;

/** What every part of a service gets: built by the runtime in order config → database → producer → relay. */
export interface BaseContext<C extends RuntimeConfig = RuntimeConfig, D extends RuntimeDb = RuntimeDb> {
  name: ServiceName;
  config: C;
  db: D;
  kafka: Kafka;
  /** a connected Kafka admin client (readiness, lag) */
  admin: Admin;
  /** the service's producer for direct publishing (the outbox relay has its own: see startService) */
  producer: EventProducer;
  /** wakes the outbox relay: call after committing a transaction that recorded events */
  published: () => void;
  /** `/readyz` checks of the database and Kafka (and whatever the runtime adds): pass to createApp */
  readiness: ReadinessChecks;
}

/** What consumers and jobs get: the base, the service's own shared objects, and the app's log and metrics. */
export type ServiceContext<
  C extends RuntimeConfig = RuntimeConfig,
  D extends RuntimeDb = RuntimeDb,
  X extends object = object,
> = BaseContext<C, D> &
  X & {
    app: App;
    log: FastifyBaseLogger;
  };

/** What every consumer group may say besides its subscriptions. */
interface ConsumerGroupOptions<Ctx> {
  /** e.g. "registry-projection": the runtime makes it `<topic prefix><service>.<group>` */
  group: string;
  /**
   * The group id after `<topic prefix><service>.` when it depends on the context, e.g. one group per
   * instance (every instance then sees every message); `group` still names it in logs and `runner()`.
   */
  groupId?: (ctx: Ctx) => string;
  /** a new group starts at the beginning of its topics (projections rebuild by replay); default true */
  fromBeginning?: boolean;
  /** the longest a fetch waits for new messages (default 500 ms) */
  maxWaitTimeMs?: number;
  retry?: RetryOptions;
}

/** Options of a group whose handlers run one message at a time. */
interface MessageGroupOptions {
  /**
   * default true: each message is applied in a database transaction that records its envelope id
   * (processed_message), handed to handlers as `tx`. false: no transaction and no record (handlers get
   * `tx` undefined and keep their own effects once), e.g. for a group per instance whose instances share
   * one database, where every instance must see every message.
   */
  transactional?: boolean;
}

/** A consumer group of the service: its subscriptions, one per topic (one file each). */
export type ConsumerGroup<Ctx> =
  | (ConsumerGroupOptions<Ctx> &
      MessageGroupOptions & {
        // biome-ignore lint/suspicious/noExplicitAny: each subscription carries its own transaction type
        subscriptions: Subscription<any, Ctx>[];
        batch?: undefined;
      })
  | (ConsumerGroupOptions<Ctx> & {
      subscriptions: BatchSubscription<Ctx>[];
      /** a BatchConsumerRunner: chunks of messages per handler call */
      batch: {
        maxBatchSize?: number;
        partitionsConsumedConcurrently?: number;
        consumers?: number;
        minBytes?: number;
      };
      /**
       * run the group in a worker thread of the service (its own database pool and Kafka clients), so
       * that its handlers never delay the answers to requests; handlers get the context without the app
       * (only `app.metrics` and `app.log`, the worker's); see worker-runner.ts
       */
      thread?: ThreadOptions;
    });

/** A background loop of the service (an import worker, housekeeping): started last, stopped first. */
export interface Job<Ctx> {
  name: string;
  start(ctx: Ctx): { stop(): Promise<unknown> } | Promise<{ stop(): Promise<unknown> }>;
}

/**
 * A service, declared: its configuration schema, database client, shared objects, app, consumer groups and
 * background jobs. The runtime wires them in one order (config → database → producer → outbox relay → app
 * → consumers → jobs) and closes them in reverse; `server.ts` is `await runMain(service)`, and tests start
 * the same declaration on a fresh database and topic prefix (`startTestService` in @energy/service-kit/testing).
 */
export interface ServiceDefinition<
  C extends RuntimeConfig = RuntimeConfig,
  D extends RuntimeDb = RuntimeDb,
  X extends object = object,
> {
  name: ServiceName;
  /** the service's folder (prisma/ and its migrations): `new URL("..", import.meta.url)` from src/ */
  dir: string;
  configSchema: z.ZodType<C>;
  database: { create(config: C): D; close(db: D): Promise<unknown> };
  /** objects built once and shared by routes, consumers and jobs (e.g. ingestion's Ingestor) */
  context?: (base: BaseContext<C, D>) => X | Promise<X>;
  /** builds the app (createApp with `ctx.readiness`, then its routes); no listen */
  app: (ctx: BaseContext<C, D> & X) => Promise<App>;
  consumers?: ConsumerGroup<ServiceContext<C, D, X>>[];
  jobs?: Job<ServiceContext<C, D, X>>[];
  /** runs once the app is built, before consumers start (e.g. the registry's root identity) */
  onStart?: (ctx: ServiceContext<C, D, X>) => Promise<void>;
  /** how often the outbox relay looks for rows nobody nudged it about (default 200 ms) */
  outboxPollIntervalMs?: number;
  /** outbox rows per relay send (the relay's default unless given; meter-read's messages are ~85 KB each) */
  outboxBatchSize?: number;
}

/** Declares a service (an identity function that keeps the types of its parts). */
export function defineService<C extends RuntimeConfig, D extends RuntimeDb, X extends object = object>(
  definition: ServiceDefinition<C, D, X>,
): ServiceDefinition<C, D, X> {
  return definition;
}

/** Every topic a service's consumer groups subscribe to (tests create them, with the ones it owns). */
export function consumedTopics(definition: {
  consumers?: ReadonlyArray<{ subscriptions: ReadonlyArray<{ topic: AnyTopic }> }>;
}): AnyTopic[] {
  const seen = new Map<string, AnyTopic>();
  for (const group of definition.consumers ?? []) {
    for (const sub of group.subscriptions) {
      seen.set(sub.topic.name, sub.topic);
    }
  }
  return [...seen.values()];
}

export interface StartedService<C extends RuntimeConfig, D extends RuntimeDb, X extends object> {
  ctx: ServiceContext<C, D, X>;
  app: App;
  relay: OutboxRelay;
  runners: AnyRunner[];
  /** the runner of one of the declared consumer groups, by its group name (e.g. "telemetry-store") */
  runner(group: string): AnyRunner;
  /** resolves once every consumer has joined its group (the service answers requests before that) */
  consumersJoined: Promise<void>;
  /** the closers in shutdown order: jobs, consumers, outbox relay, Kafka clients, database */
  closers: Closer[];
  /** stops everything in that order, and the app */
  stop(): Promise<void>;
}

export interface StartOptions<C extends RuntimeConfig> {
  /** the environment to read the configuration from (default process.env) */
  env?: Record<string, string | undefined>;
  /** a configuration already parsed (then env is not read) */
  config?: C;
  /** called when a consumer cannot start (default: log it; runMain exits) */
  onConsumerFailure?: (error: unknown) => void;
}

/**
 * Builds and starts a declared service without listening: config → database → producer → outbox relay →
 * app → consumers (in the background) → jobs. The caller listens (runMain) or injects (tests).
 */
export async function startService<C extends RuntimeConfig, D extends RuntimeDb, X extends object>(
  def: ServiceDefinition<C, D, X>,
  opts: StartOptions<C> = {},
): Promise<StartedService<C, D, X>> {
  const config = opts.config ?? loadConfig(def.configSchema, opts.env ?? process.env);
  setMaxMessageBytes(config.KAFKA_MAX_MESSAGE_BYTES); // events over it are refused where they are made
  const db = def.database.create(config);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: def.name });
  const producer = new EventProducer(kafka, { source: def.name, topicPrefix: config.KAFKA_TOPIC_PREFIX });
  // The relay has a producer of its own: kafkajs's idempotent producer sends one request per broker at a
  // time, so with one producer a direct publish (an acknowledgement waiting for its readings to be on
  // Kafka) queued behind the relay's batch of outbox rows.
  const relayProducer = new EventProducer(kafka, {
    source: def.name,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
  });
  const admin = kafka.admin();
  const closers: Closer[] = [];
  const disconnectKafka = () =>
    Promise.all([producer.disconnect(), relayProducer.disconnect(), admin.disconnect()]);
  try {
    await Promise.all([producer.connect(), relayProducer.connect(), admin.connect()]);
  } catch (error) {
    await Promise.allSettled([disconnectKafka(), def.database.close(db)]);
    throw error;
  }
  const relay = new OutboxRelay({
    db,
    producer: relayProducer,
    ...(def.outboxPollIntervalMs ? { pollIntervalMs: def.outboxPollIntervalMs } : {}),
    ...(def.outboxBatchSize ? { batchSize: def.outboxBatchSize } : {}),
  });
  const base: BaseContext<C, D> = {
    name: def.name,
    config,
    db,
    kafka,
    admin,
    producer,
    published: () => relay.nudge(),
    readiness: {
      database: () => db.$queryRawUnsafe("SELECT 1"),
      kafka: () => admin.describeCluster(),
      // not ready while the oldest unsent outbox event is older than OUTBOX_MAX_PENDING_AGE_SECONDS
      outbox: outboxReadiness(db, { maxPendingAgeMs: config.OUTBOX_MAX_PENDING_AGE_SECONDS * 1000 }),
    },
  };
  const extra = (await def.context?.(base)) ?? ({} as X);
  const app = await def.app({ ...base, ...extra });
  const ctx = { ...base, ...extra, app, log: app.log } as ServiceContext<C, D, X>;
  relay.attach(app); // its metrics on app.metrics, its log lines (a dead-lettered event) in app.log
  relay.start();
  await def.onStart?.(ctx);

  const runners = (def.consumers ?? []).map((group) => {
    const common = {
      kafka,
      producer,
      groupId: `${def.name}.${group.groupId?.(ctx) ?? group.group}`,
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
      context: ctx,
      logger: app.log.child({ consumer: group.group }),
      ...(group.retry ? { retry: group.retry } : {}),
      ...(group.fromBeginning !== undefined ? { fromBeginning: group.fromBeginning } : {}),
      ...(group.maxWaitTimeMs !== undefined ? { maxWaitTimeMs: group.maxWaitTimeMs } : {}),
    };
    if (group.batch && group.thread) {
      const runner = new WorkerConsumerRunner({
        thread: group.thread,
        group: group.group,
        groupId: `${config.KAFKA_TOPIC_PREFIX}${common.groupId}`,
        config,
        logger: common.logger,
        onPublished: () => relay.nudge(),
      });
      runner.registerMetrics(app.metrics);
      // /readyz says not ready while the group's worker is not running
      base.readiness[`consumer ${group.group}`] = () => runner.ready();
      return runner;
    }
    const runner = group.batch
      ? new BatchConsumerRunner({ ...common, ...group.batch, subscriptions: group.subscriptions })
      : new ConsumerRunner({
          ...common,
          ...(group.transactional === false ? {} : { db }),
          subscriptions: group.subscriptions,
        });
    runner.registerMetrics(app.metrics);
    return runner as AnyRunner;
  });
  // Requests are answered without waiting for the consumers to join their groups (after a crash a group
  // waits for the dead member's session to end first); a consumer that cannot start is reported.
  const consumersJoined = Promise.all(runners.map((r) => r.start())).then(() => {});
  consumersJoined.catch(
    opts.onConsumerFailure ?? ((err: unknown) => app.log.error({ err }, "a consumer could not start")),
  );
  const jobs: Array<{ name: string; stop(): Promise<unknown> }> = [];
  for (const job of def.jobs ?? []) {
    const running = await job.start(ctx);
    jobs.push({ name: job.name, stop: () => running.stop() });
  }

  closers.push(
    ...jobs.reverse().map((job) => ({ name: job.name, close: () => job.stop() })),
    ...runners.map((runner, i) => ({
      name: `consumer ${def.consumers![i]!.group}`,
      close: () => runner.stop(),
    })),
    { name: "outbox relay", close: () => relay.stop() },
    { name: "kafka", close: disconnectKafka },
    { name: "database", close: () => def.database.close(db) },
  );
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      await app.close();
      for (const closer of closers) await closer.close();
    })();
    return stopped;
  };
  const runner = (group: string) => {
    const i = (def.consumers ?? []).findIndex((g) => g.group === group);
    if (i < 0) throw new Error(`${def.name} has no consumer group "${group}"`);
    return runners[i]!;
  };
  return { ctx, app, relay, runners, runner, consumersJoined, closers, stop };
}

/**
 * The whole of a service's server.ts: starts the declared service from process.env, listens on HOST:PORT,
 * and on SIGINT/SIGTERM stops taking requests, then closes jobs, consumers, the outbox relay, Kafka and the
 * database in that order. A configuration error stops start-up with a message naming the variable.
 */
export async function runMain<C extends RuntimeConfig, D extends RuntimeDb, X extends object>(
  def: ServiceDefinition<C, D, X>,
): Promise<RunningService> {
  const started = await startService(def, {
    onConsumerFailure: (err) => {
      console.error(err);
      process.exit(1);
    },
  });
  const { config } = started.ctx;
  return runService({ app: started.app, port: config.PORT, host: config.HOST, closers: started.closers });
}
