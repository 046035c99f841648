import { createKafka, EventProducer, OutboxRelay, setMaxMessageBytes } from "@energy/kafka";
import { runService } from "@energy/service-kit";
import { buildApp } from "./app.ts";
import { readConfig } from "./config.ts";
import { createConsumers } from "./consumers/index.ts";
import { closeDb, createDb } from "./db.ts";
import { startIssuance } from "./issuance.ts";

const config = readConfig();
setMaxMessageBytes(config.KAFKA_MAX_MESSAGE_BYTES); // events over it are refused where they are made
const db = createDb(config.DATABASE_URL);
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: "reservation" });
const producer = new EventProducer(kafka, { source: "reservation", topicPrefix: config.KAFKA_TOPIC_PREFIX });
await producer.connect();
const relay = new OutboxRelay({ db, producer });
const admin = kafka.admin();
await admin.connect();

let issuance: ReturnType<typeof startIssuance> | null = null;
const app = await buildApp({
  config,
  db,
  kafkaReady: () => admin.describeCluster(),
  published: () => {
    relay.nudge();
    issuance?.nudge();
  },
});
relay.attach(app); // its metrics on app.metrics, its log lines (a dead-lettered event) in app.log
relay.start();
issuance = startIssuance({
  db,
  minCertificateWh: config.MIN_CERTIFICATE_WH,
  closeDelayMs: config.WINDOW_CLOSE_DELAY_SECONDS * 1000,
  windowsPerTransaction: config.WINDOWS_PER_TRANSACTION,
  intervalMs: config.ISSUANCE_INTERVAL_MS,
  published: () => relay.nudge(),
  logger: app.log.child({ part: "issuance" }),
});

// Consumers start once the app is built and stop first; a consumer that cannot start stops the service.
const consumers = createConsumers({
  kafka,
  producer,
  db,
  topicPrefix: config.KAFKA_TOPIC_PREFIX,
  logger: app.log.child({ part: "consumers" }),
});
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
    ...consumers.map((consumer, i) => ({ name: `consumer ${i}`, close: () => consumer.stop() })),
    { name: "issuance", close: () => issuance.stop() },
    { name: "outbox relay", close: () => relay.stop() },
    { name: "kafka", close: () => Promise.all([producer.disconnect(), admin.disconnect()]) },
    { name: "database", close: () => closeDb(db) },
  ],
});
