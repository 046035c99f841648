import { generateKeyPairSync } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createKafka, EventProducer, OutboxRelay } from "@energy/kafka";
import { createTestDatabase, createTestKafka } from "@energy/testing";
import jwt from "jsonwebtoken";
import { buildApp } from "../src/app.ts";
import { ConfigSchema } from "../src/config.ts";
import { createDb } from "../src/db.ts";

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The registry wired to a fresh database and topic prefix on the real PostgreSQL and Kafka. */
export async function startRegistry(env: Record<string, string> = {}) {
  const [database, testKafka] = await Promise.all([
    createTestDatabase({ cwd: serviceDir }),
    createTestKafka({
      topics: [
        "registry.organization.v1",
        "registry.identity.v1",
        "registry.membership.v1",
        "registry.site.v1",
        "registry.device.v1",
        "registry.der.v1",
        "registry.gateway.v1",
        "registry.device-group.v1",
        "registry.community.v1",
      ],
    }),
  ]);
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const config = ConfigSchema.parse({
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    DATABASE_URL: database.url,
    KAFKA_BROKERS: testKafka.brokers,
    KAFKA_TOPIC_PREFIX: testKafka.topicPrefix,
    JWT_PUBLIC_KEY: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    JWT_PRIVATE_KEY: keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    ...env,
  });
  const db = createDb(config.DATABASE_URL);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: "registry-test" });
  const producer = new EventProducer(kafka, { source: "registry", topicPrefix: config.KAFKA_TOPIC_PREFIX });
  await producer.connect();
  const relay = new OutboxRelay({ db, producer, pollIntervalMs: 50 });
  relay.start();
  const app = await buildApp({ config, db, kafkaReady: async () => true, published: () => relay.nudge() });

  /** A bearer token as the registry will issue it (ES256). */
  const tokenFor = (sub: string, typ = "user") =>
    jwt.sign({ typ }, keys.privateKey, {
      algorithm: "ES256",
      subject: sub,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      expiresIn: "5m",
    });

  return {
    app,
    db,
    config,
    testKafka,
    tokenFor,
    auth: (sub: string) => ({ authorization: `Bearer ${tokenFor(sub)}` }),
    async close() {
      await app.close();
      await relay.stop();
      await producer.disconnect();
      await db.$disconnect();
      await database.drop();
    },
  };
}
