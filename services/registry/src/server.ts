import { createKafka, EventProducer, OutboxRelay, setMaxMessageBytes } from "@energy/kafka";
import { runService } from "@energy/service-kit";
import { buildApp } from "./app.ts";
import { readConfig } from "./config.ts";
import { livenessConsumer } from "./consumers/ingestion-liveness.ts";
import { createDb } from "./db.ts";
import { ensureRootIdentity } from "./root-identity.ts";

const config = readConfig();
setMaxMessageBytes(config.KAFKA_MAX_MESSAGE_BYTES); // events over it are refused where they are made
const db = createDb(config.DATABASE_URL);
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: "registry" });
const producer = new EventProducer(kafka, { source: "registry", topicPrefix: config.KAFKA_TOPIC_PREFIX });
await producer.connect();
const relay = new OutboxRelay({ db, producer });
const admin = kafka.admin();
await admin.connect();

const app = await buildApp({
  config,
  db,
  kafkaReady: () => admin.describeCluster(),
  published: () => relay.nudge(),
});
relay.attach(app); // its metrics on app.metrics, its log lines (a dead-lettered event) in app.log
if (config.ROOT_PUBLIC_KEY && (await ensureRootIdentity(db, config.ROOT_PUBLIC_KEY))) {
  app.log.info("created the root identity from ROOT_PUBLIC_KEY");
}
relay.start();

// Consumers start once the app is built (their metrics go on app.metrics) and stop first.
const liveness = livenessConsumer({
  kafka,
  producer,
  db,
  topicPrefix: config.KAFKA_TOPIC_PREFIX,
  logger: app.log.child({ consumer: "ingestion-liveness" }),
});
liveness.registerMetrics(app.metrics);
await liveness.start();

await runService({
  app,
  port: config.PORT,
  host: config.HOST,
  closers: [
    { name: "ingestion-liveness consumer", close: () => liveness.stop() },
    { name: "outbox relay", close: () => relay.stop() },
    { name: "kafka", close: () => Promise.all([producer.disconnect(), admin.disconnect()]) },
    { name: "database", close: () => db.$disconnect() },
  ],
});
