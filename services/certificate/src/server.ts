import { setMaxMessageBytes } from "@energy/kafka";
import { runService } from "@energy/service-kit";
import { buildApp } from "./app.ts";
import { readConfig } from "./config.ts";
import { closeDb, createDb } from "./db.ts";
import { createParts } from "./service.ts";

const config = readConfig();
setMaxMessageBytes(config.KAFKA_MAX_MESSAGE_BYTES); // events over it are refused where they are made
const db = createDb(config.DATABASE_URL);
const parts = await createParts(config, db, console);
const app = await buildApp({
  config,
  db,
  chain: parts.chain,
  kafkaReady: parts.kafkaReady,
  nudgeChain: () => parts.sender.nudge(),
});
for (const consumer of parts.consumers) consumer.registerMetrics(app.metrics);
parts.relay.attach(app); // its metrics on app.metrics, its log lines (a dead-lettered event) in app.log
parts.start().catch((err: unknown) => {
  app.log.fatal({ err }, "the chain sender or a consumer could not start");
  process.exit(1);
});
app.log.info({ registry: parts.chain.registryAddress, chainId: parts.chain.chainId }, "certificate registry");

await runService({
  app,
  port: config.PORT,
  host: config.HOST,
  closers: [
    { name: "consumers, chain sender, relay, kafka", close: () => parts.stop() },
    { name: "database", close: () => closeDb(db) },
  ],
});
