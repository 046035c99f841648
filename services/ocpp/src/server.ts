import { randomUUID } from "node:crypto";
import { createKafka, EventProducer, OutboxRelay, setMaxMessageBytes } from "@energy/kafka";
import { runService } from "@energy/service-kit";
import { buildApp } from "./app.ts";
import { startInstanceLoop } from "./central/instance.ts";
import { readConfig } from "./config.ts";
import { commandConsumer } from "./consumers/commands.ts";
import { PROJECTION_GROUP_ID, registryProjection } from "./consumers/registry-projection.ts";
import { closeDb, createDb } from "./db.ts";

const config = readConfig();
setMaxMessageBytes(config.KAFKA_MAX_MESSAGE_BYTES); // events over it are refused where they are made
const instanceId = config.INSTANCE_ID ?? `ocpp-${randomUUID().slice(0, 8)}`;
const db = createDb(config.DATABASE_URL, 20);
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `ocpp-${instanceId}` });
const producer = new EventProducer(kafka, { source: "ocpp", topicPrefix: config.KAFKA_TOPIC_PREFIX });
await producer.connect();
const relay = new OutboxRelay({ db, producer });
const admin = kafka.admin();
await admin.connect();

const app = await buildApp({
  config,
  db,
  instanceId,
  kafkaReady: () => admin.describeCluster(),
  published: () => relay.nudge(),
});
relay.attach(app); // its metrics on app.metrics, its log lines (a dead-lettered event) in app.log
relay.start();

const group = (name: string) => `${config.KAFKA_TOPIC_PREFIX}${name}`;
const projection = registryProjection({
  kafka,
  producer,
  db,
  topicPrefix: config.KAFKA_TOPIC_PREFIX,
  groupId: group(PROJECTION_GROUP_ID),
  logger: app.log.child({ consumer: "registry-projection" }),
});
const commands = commandConsumer({
  kafka,
  producer,
  commands: app.commands,
  instanceId,
  topicPrefix: config.KAFKA_TOPIC_PREFIX,
  groupId: group(`ocpp.commands.${instanceId}`),
  logger: app.log.child({ consumer: "commands" }),
});
const instance = startInstanceLoop({
  db,
  central: app.central,
  commands: app.commands,
  instanceId,
  log: app.log.child({ loop: "instance" }),
});
const consumers = [projection, commands];
for (const consumer of consumers) consumer.registerMetrics(app.metrics);
// Chargers are answered while the consumers join their groups; a consumer that cannot start stops the service.
Promise.all(consumers.map((consumer) => consumer.start())).catch((err: unknown) => {
  app.log.fatal({ err }, "a consumer could not start");
  process.exit(1);
});

await runService({
  app,
  port: config.PORT,
  host: config.HOST,
  closers: [
    { name: "command consumer", close: () => commands.stop() },
    { name: "registry projection", close: () => projection.stop() },
    { name: "instance loop", close: () => instance.stop() },
    { name: "outbox relay", close: () => relay.stop() },
    { name: "kafka", close: () => Promise.all([producer.disconnect(), admin.disconnect()]) },
    { name: "database", close: () => closeDb(db) },
  ],
});
