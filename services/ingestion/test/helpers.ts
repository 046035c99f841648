import { generateKeyPairSync } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createKafka, EventProducer, OutboxRelay } from "@energy/kafka";
import { createTestDatabase, createTestKafka, type TestKafka } from "@energy/testing";
import jwt from "jsonwebtoken";
import { type AppDeps, buildApp } from "../src/app.ts";
import { ConfigSchema } from "../src/config.ts";
import { closeDb, createDb } from "../src/db.ts";

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");

export const INGESTION_TOPICS = [
  "ingestion.raw.v1",
  "ingestion.telemetry.v1",
  "ingestion.telemetry-rejected.v1",
  "ingestion.interval.v1",
  "ingestion.liveness.v1",
  "ocpp.charger.v1",
];
export const REGISTRY_TOPICS = [
  "registry.identity.v1",
  "registry.organization.v1",
  "registry.membership.v1",
  "registry.site.v1",
  "registry.device.v1",
  "registry.der.v1",
];

/**
 * Ingestion wired to a fresh database and topic prefix on the real PostgreSQL and Kafka. `extra` gives
 * optional app parts that need the test's Kafka (e.g. a store lag monitor).
 */
export async function startIngestion(
  env: Record<string, string> = {},
  extra: (testKafka: TestKafka) => Pick<AppDeps, "storeLag"> = () => ({}),
) {
  const [database, testKafka] = await Promise.all([
    createTestDatabase({ cwd: serviceDir }),
    createTestKafka({ topics: [...INGESTION_TOPICS, ...REGISTRY_TOPICS] }),
  ]);
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const config = ConfigSchema.parse({
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    DATABASE_URL: database.url,
    KAFKA_BROKERS: testKafka.brokers,
    KAFKA_TOPIC_PREFIX: testKafka.topicPrefix,
    JWT_PUBLIC_KEY: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    ...env,
  });
  const db = createDb(config.DATABASE_URL);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: "ingestion-test" });
  const producer = new EventProducer(kafka, { source: "ingestion", topicPrefix: config.KAFKA_TOPIC_PREFIX });
  await producer.connect();
  const relay = new OutboxRelay({ db, producer, pollIntervalMs: 50 });
  relay.start();
  const app = await buildApp({
    config,
    db,
    producer,
    kafkaReady: async () => true,
    published: () => relay.nudge(),
    ...extra(testKafka),
  });

  /** A bearer token as the registry issues it (ES256), for any identity type. */
  const tokenFor = (sub: string, typ = "gateway", claims: { key?: string } = {}) =>
    jwt.sign({ typ, ...claims }, keys.privateKey, {
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
    kafka,
    producer,
    relay,
    testKafka,
    tokenFor,
    auth: (sub: string, typ = "gateway") => ({ authorization: `Bearer ${tokenFor(sub, typ)}` }),
    async close() {
      await app.close();
      await relay.stop();
      await producer.disconnect();
      await closeDb(db);
      await database.drop();
    },
  };
}
export type Ingestion = Awaited<ReturnType<typeof startIngestion>>;

/** A site with one device served by `gatewayId` and one DER per type given; written as the projection would. */
export async function seedSite(
  db: Ingestion["db"],
  opts: {
    orgId: string;
    siteId: string;
    deviceId: string;
    gatewayId: string | null;
    ders: Record<string, "solar" | "battery" | "meter" | "ev_charger_port">;
    deviceType?: string;
    timezone?: string;
    members?: string[];
  },
) {
  await db.site.upsert({
    where: { id: opts.siteId },
    create: {
      id: opts.siteId,
      orgId: opts.orgId,
      name: opts.siteId,
      timezone: opts.timezone ?? "Europe/Stockholm",
    },
    update: {},
  });
  await db.device.create({
    data: {
      id: opts.deviceId,
      orgId: opts.orgId,
      siteId: opts.siteId,
      type: opts.deviceType ?? "inverter",
      name: opts.deviceId,
      state: "pending",
      commIdentityId: opts.gatewayId,
    },
  });
  for (const [derId, derType] of Object.entries(opts.ders)) {
    await db.der.create({
      data: {
        id: derId,
        deviceId: opts.deviceId,
        siteId: opts.siteId,
        orgId: opts.orgId,
        derType,
        name: derId,
      },
    });
  }
  for (const identityId of opts.members ?? []) {
    await db.membership.upsert({
      where: { orgId_identityId: { orgId: opts.orgId, identityId } },
      create: { orgId: opts.orgId, identityId, role: "viewer" },
      update: {},
    });
  }
}
