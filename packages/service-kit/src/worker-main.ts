import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { BatchConsumerRunner, createKafka, EventProducer, setMaxMessageBytes } from "@energy/kafka";
import type { FastifyBaseLogger } from "fastify";
import pino from "pino";
import { Registry } from "prom-client";
import { loggerOptions } from "./logger.ts";
import type { BaseContext, RuntimeConfig, RuntimeDb, ServiceContext, ServiceDefinition } from "./runtime.ts";
import type { FromWorker, MetricMeta, MetricValue, ToWorker, WorkerData } from "./worker-runner.ts";

// A consumer group of a service in a worker thread (see worker-runner.ts): the same declaration, its own
// database pool, Kafka clients and metrics registry; what the service's thread needs is sent to it.

const port = parentPort!;
const data = workerData as WorkerData;
const send = (message: FromWorker) => port.postMessage(message);
const config = data.config as RuntimeConfig;

/**
 * Lowers this thread's priority to `nice` (Linux: setpriority on the thread's own id, which
 * /proc/thread-self names). Raising a nice value needs no privilege; where it cannot be done the
 * thread goes on at the service's priority, and the log says so.
 */
function lowerPriority(nice: number, log: FastifyBaseLogger): void {
  if (nice <= 0 || process.platform !== "linux") return;
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").at(-1));
    setPriority(tid, nice);
  } catch (error) {
    log.warn({ err: error, nice }, "could not lower the worker thread's priority; it runs at the service's");
  }
}

async function main(): Promise<void> {
  const def = (await import(data.module))[data.exportName] as ServiceDefinition<RuntimeConfig, RuntimeDb>;
  const group = def.consumers?.find((g) => g.group === data.group);
  if (!group?.batch) throw new Error(`${def.name} has no batch consumer group "${data.group}"`);
  setMaxMessageBytes(config.KAFKA_MAX_MESSAGE_BYTES);
  const log = pino(
    loggerOptions(def.name, config.LOG_LEVEL, { base: { consumer: data.group, thread: "worker" } }),
  ) as unknown as FastifyBaseLogger;
  lowerPriority(data.nice, log);
  const db = def.database.create(config);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${def.name}-${data.group}` });
  const producer = new EventProducer(kafka, { source: def.name, topicPrefix: config.KAFKA_TOPIC_PREFIX });
  const admin = kafka.admin();
  const registry = new Registry();
  const close = () =>
    Promise.allSettled([producer.disconnect(), admin.disconnect()]).then(() => def.database.close(db));
  try {
    await producer.connect();
    await admin.connect();
  } catch (error) {
    await close();
    throw error;
  }
  const base: BaseContext<RuntimeConfig, RuntimeDb> = {
    name: def.name,
    config,
    db,
    kafka,
    admin,
    producer,
    published: () => send({ t: "published" }),
    readiness: {},
  };
  const extra = (await def.context?.(base)) ?? {};
  // handlers see `app` for its metrics and log only: the app itself lives in the service's thread
  const ctx = { ...base, ...extra, app: { metrics: registry, log }, log } as unknown as ServiceContext<
    RuntimeConfig,
    RuntimeDb
  >;
  const runner = new BatchConsumerRunner({
    kafka,
    producer,
    groupId: `${def.name}.${group.groupId?.(ctx) ?? group.group}`,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    context: ctx,
    logger: log.child({ consumer: group.group }),
    ...(group.retry ? { retry: group.retry } : {}),
    ...(group.fromBeginning !== undefined ? { fromBeginning: group.fromBeginning } : {}),
    ...(group.maxWaitTimeMs !== undefined ? { maxWaitTimeMs: group.maxWaitTimeMs } : {}),
    ...group.batch,
    subscriptions: group.subscriptions,
  });
  // the handlers may register their metrics on first use (ingestion's counters, on the first chunk): the
  // names are sent whenever new ones appear, with the stats every 100 ms
  let named = 0;
  const report = setInterval(() => {
    send({ t: "stats", stats: runner.stats() });
    const metrics = registry.getMetricsAsArray();
    if (metrics.length === named) return;
    named = metrics.length;
    send({
      t: "metric-names",
      metrics: metrics.map((m) => {
        const { name, help, type, aggregator } = m as unknown as MetricMeta;
        return { name, help, type: String(type), aggregator: String(aggregator) };
      }),
    });
  }, 100);
  let stopping = false;
  port.on("message", (message: ToWorker) => {
    if (message.t === "metrics") {
      void registry
        .getMetricsAsJSON()
        .then((values) => send({ t: "metrics", id: message.id, values: values as unknown as MetricValue[] }));
    } else if (message.t === "stop" && !stopping) {
      stopping = true;
      void (async () => {
        await runner.stop();
        send({ t: "stats", stats: runner.stats() });
        clearInterval(report);
        await close();
        send({ t: "stopped" });
        // ends this thread (not the process), once the messages above are out
        setTimeout(() => process.exit(0), 100);
      })().catch((err: unknown) => {
        log.error({ err }, "the worker did not stop cleanly");
        process.exit(1);
      });
    }
  });
  await runner.start();
  send({ t: "started" });
}
main().catch((error: unknown) => {
  send({ t: "start-failed", error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
