import { generateKeyPairSync } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createKafka, EventProducer, OutboxRelay } from "@energy/kafka";
import { createTestDatabase, createTestKafka } from "@energy/testing";
import jwt from "jsonwebtoken";
import { buildApp } from "../src/app.ts";
import { ConfigSchema } from "../src/config.ts";
import { closeDb, createDb } from "../src/db.ts";
import { RELAY_BATCH_SIZE } from "../src/reads/store.ts";

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");

export const REGISTRY_TOPICS = [
  "registry.organization.v1",
  "registry.membership.v1",
  "registry.site.v1",
  "registry.device.v1",
];

/** meter-read wired to a fresh database and topic prefix on the real PostgreSQL and Kafka. */
export async function startMeterRead(opts: { topics?: string[]; env?: Record<string, string> } = {}) {
  const [database, testKafka] = await Promise.all([
    createTestDatabase({ cwd: serviceDir }),
    createTestKafka({ topics: ["meter-read.read.v1", ...(opts.topics ?? [])] }),
  ]);
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const config = ConfigSchema.parse({
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    DATABASE_URL: database.url,
    KAFKA_BROKERS: testKafka.brokers,
    KAFKA_TOPIC_PREFIX: testKafka.topicPrefix,
    JWT_PUBLIC_KEY: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    ...opts.env,
  });
  const db = createDb(config.DATABASE_URL);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: "meter-read-test" });
  const producer = new EventProducer(kafka, { source: "meter-read", topicPrefix: config.KAFKA_TOPIC_PREFIX });
  await producer.connect();
  const relay = new OutboxRelay({ db, producer, pollIntervalMs: 50, batchSize: RELAY_BATCH_SIZE });
  relay.start();
  const app = await buildApp({ config, db, kafkaReady: async () => true, published: () => relay.nudge() });

  /** A bearer token as the registry issues it (ES256). */
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
    kafka,
    producer,
    relay,
    testKafka,
    auth: (sub: string, typ = "user") => ({ authorization: `Bearer ${tokenFor(sub, typ)}` }),
    async close() {
      await app.close();
      await relay.stop();
      await producer.disconnect();
      await closeDb(db);
      await database.drop();
    },
  };
}
export type MeterRead = Awaited<ReturnType<typeof startMeterRead>>;

/** A device as the projection writes it, with members by role. */
export async function seedDevice(
  db: MeterRead["db"],
  opts: {
    orgId: string;
    deviceId: string;
    siteId?: string;
    externalId?: string | null;
    capacityW?: number | null;
    commissioningDate?: string | null;
    onboardedAt?: Date;
    yieldValue?: number | null;
    timezone?: string;
    members?: Record<string, "owner" | "admin" | "operator" | "viewer">;
  },
) {
  const siteId = opts.siteId ?? `sit-${opts.orgId}`;
  await db.site.upsert({
    where: { id: siteId },
    create: { id: siteId, orgId: opts.orgId, timezone: opts.timezone ?? "Europe/Stockholm" },
    update: {},
  });
  const capacityW = opts.capacityW === undefined ? 10_000 : opts.capacityW;
  await db.device.create({
    data: {
      id: opts.deviceId,
      orgId: opts.orgId,
      siteId,
      externalId: opts.externalId ?? null,
      capacityW,
      commissioningDate: opts.commissioningDate === undefined ? "2020-01-01" : opts.commissioningDate,
      onboardedAt: opts.onboardedAt ?? new Date("2020-01-01T00:00:00Z"),
      yieldValue: opts.yieldValue ?? null,
      state: "active",
    },
  });
  if (capacityW !== null) {
    await db.deviceCapacity.create({
      data: { deviceId: opts.deviceId, fromAt: new Date("2020-01-01T00:00:00Z"), capacityW },
    });
  }
  for (const [identityId, role] of Object.entries(opts.members ?? {})) {
    await db.membership.upsert({
      where: { orgId_identityId: { orgId: opts.orgId, identityId } },
      create: { orgId: opts.orgId, identityId, role },
      update: { role },
    });
  }
}

/** Hourly history reads from `startIso`, `count` of them, each `wh` Wh. */
export function hourly(startIso: string, count: number, wh: (i: number) => number) {
  const t0 = Date.parse(startIso);
  return Array.from({ length: count }, (_, i) => ({
    starttimestamp: new Date(t0 + i * 3_600_000).toISOString(),
    endtimestamp: new Date(t0 + (i + 1) * 3_600_000).toISOString(),
    value: wh(i),
  }));
}
