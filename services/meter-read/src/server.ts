import { createKafka, EventProducer, OutboxRelay, setMaxMessageBytes } from "@energy/kafka";
import { runService } from "@energy/service-kit";
import { buildApp } from "./app.ts";
import { readConfig } from "./config.ts";
import { INTERVAL_GROUP_ID, intervalConsumer } from "./consumers/ingestion-interval.ts";
import { PROJECTION_GROUP_ID, registryProjection } from "./consumers/registry-projection.ts";
import { closeDb, createDb } from "./db.ts";
import { RELAY_BATCH_SIZE } from "./reads/store.ts";

const config = readConfig();
setMaxMessageBytes(config.KAFKA_MAX_MESSAGE_BYTES); // events over it are refused where they are made
const db = createDb(config.DATABASE_URL);
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: "meter-read" });
const producer = new EventProducer(kafka, { source: "meter-read", topicPrefix: config.KAFKA_TOPIC_PREFIX });
await producer.connect();
const relay = new OutboxRelay({ db, producer, batchSize: RELAY_BATCH_SIZE });
const admin = kafka.admin();
await admin.connect();

const app = await buildApp({
  config,
  db,
  kafkaReady: () => admin.describeCluster(),
  published: () => relay.nudge(),
});
relay.attach(app); // its metrics on app.metrics, its log lines (a dead-lettered event) in app.log
relay.start();

// Consumers start once the app is built (their metrics go on app.metrics) and stop first. The topic
// prefix (an environment's namespace on a shared cluster) prefixes their consumer groups too.
const shared = { kafka, producer, db, topicPrefix: config.KAFKA_TOPIC_PREFIX };
const group = (name: string) => `${config.KAFKA_TOPIC_PREFIX}${name}`;
const projection = registryProjection({
  ...shared,
  groupId: group(PROJECTION_GROUP_ID),
  logger: app.log.child({ consumer: "registry-projection" }),
});
const intervals = intervalConsumer({
  ...shared,
  groupId: group(INTERVAL_GROUP_ID),
  futureToleranceMs: config.FUTURE_TOLERANCE_SECONDS * 1000,
  published: () => relay.nudge(),
  logger: app.log.child({ consumer: "ingestion-interval" }),
});
const consumers = [projection, intervals];
for (const consumer of consumers) consumer.registerMetrics(app.metrics);
Promise.all(consumers.map((consumer) => consumer.start())).catch((err: unknown) => {
  app.log.fatal({ err }, "a consumer could not start");
  process.exit(1);
});

await runService({
  app,
  port: config.PORT,
  host: config.HOST,
  closers: [
    { name: "interval consumer", close: () => intervals.stop() },
    { name: "registry projection", close: () => projection.stop() },
    { name: "outbox relay", close: () => relay.stop() },
    { name: "kafka", close: () => Promise.all([producer.disconnect(), admin.disconnect()]) },
    { name: "database", close: () => closeDb(db) },
  ],
});
