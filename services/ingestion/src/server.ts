import { createKafka, EventProducer, OutboxRelay, setMaxMessageBytes } from "@energy/kafka";
import { runService } from "@energy/service-kit";
import { buildApp } from "./app.ts";
import { readConfig } from "./config.ts";
import { OCPP_READINGS_GROUP_ID, ocppReadingsConsumer } from "./consumers/ocpp-readings.ts";
import { RAW_GROUP_ID, rawBatchConsumer } from "./consumers/raw-batches.ts";
import { PROJECTION_GROUP_ID, registryProjection } from "./consumers/registry-projection.ts";
import { STORE_GROUP_ID, telemetryStore } from "./consumers/telemetry-store.ts";
import { closeDb, createDb } from "./db.ts";
import { startHousekeeping } from "./housekeeping.ts";
import { StoreLagMonitor } from "./store/store-lag.ts";

const config = readConfig();
setMaxMessageBytes(config.KAFKA_MAX_MESSAGE_BYTES); // events over it are refused where they are made
const db = createDb(config.DATABASE_URL);
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: "ingestion" });
const producer = new EventProducer(kafka, { source: "ingestion", topicPrefix: config.KAFKA_TOPIC_PREFIX });
await producer.connect();
const relay = new OutboxRelay({ db, producer });
const admin = kafka.admin();
await admin.connect();
const group = (name: string) => `${config.KAFKA_TOPIC_PREFIX}${name}`;
const storeLag = new StoreLagMonitor({
  admin,
  groupId: group(STORE_GROUP_ID),
  topic: `${config.KAFKA_TOPIC_PREFIX}ingestion.telemetry.v1`,
});

const app = await buildApp({
  config,
  db,
  producer,
  kafkaReady: () => admin.describeCluster(),
  published: () => relay.nudge(),
  storeLag,
});
relay.attach(app); // its metrics on app.metrics, its log lines (a dead-lettered event) in app.log
relay.start();
storeLag.registerMetrics(app.metrics);
storeLag.start();

// Consumers start once the app is built (their metrics go on app.metrics) and stop first. The topic
// prefix (an environment's namespace on a shared cluster) prefixes their consumer groups too.
const shared = { kafka, producer, db, topicPrefix: config.KAFKA_TOPIC_PREFIX };
const projection = registryProjection({
  ...shared,
  groupId: group(PROJECTION_GROUP_ID),
  logger: app.log.child({ consumer: "registry-projection" }),
});
const store = telemetryStore({
  ...shared,
  groupId: group(STORE_GROUP_ID),
  metrics: app.metrics,
  published: () => relay.nudge(),
  logger: app.log.child({ consumer: "telemetry-store" }),
});
const raw = rawBatchConsumer({
  ...shared,
  ingestor: app.ingestor,
  groupId: group(RAW_GROUP_ID),
  maxReadings: config.BATCH_MAX_READINGS,
  logger: app.log.child({ consumer: "raw-batches" }),
});
const ocpp = ocppReadingsConsumer({
  ...shared,
  ingestor: app.ingestor,
  groupId: group(OCPP_READINGS_GROUP_ID),
  logger: app.log.child({ consumer: "ocpp-readings" }),
});
const consumers = [projection, store, raw, ocpp];
for (const consumer of consumers) consumer.registerMetrics(app.metrics);
// Gateways are answered without waiting for the consumers to join their groups (after a crash a group
// waits for the dead member's session to time out); a consumer that cannot start stops the service.
Promise.all(consumers.map((consumer) => consumer.start())).catch((err: unknown) => {
  app.log.fatal({ err }, "a consumer could not start");
  process.exit(1);
});
const housekeeping = startHousekeeping({ db, config, published: () => relay.nudge(), log: app.log });

await runService({
  app,
  port: config.PORT,
  host: config.HOST,
  closers: [
    { name: "raw batch consumer", close: () => raw.stop() },
    { name: "ocpp readings", close: () => ocpp.stop() },
    { name: "telemetry store", close: () => store.stop() },
    { name: "registry projection", close: () => projection.stop() },
    { name: "housekeeping", close: () => housekeeping.stop() },
    { name: "outbox relay", close: () => relay.stop() },
    { name: "store lag monitor", close: () => storeLag.stop() },
    { name: "kafka", close: () => Promise.all([producer.disconnect(), admin.disconnect()]) },
    { name: "database", close: () => closeDb(db) },
  ],
});
