import { generateKeyPairSync } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CountedRead } from "@energy/contracts";
import { createKafka, EventProducer, OutboxRelay } from "@energy/kafka";
import { createTestDatabase, createTestKafka } from "@energy/testing";
import jwt from "jsonwebtoken";
import { buildApp } from "../src/app.ts";
import { ConfigSchema } from "../src/config.ts";
import { closeDb, createDb, type Db } from "../src/db.ts";
import { type IssuanceOptions, runIssuance } from "../src/issuance.ts";

export const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");

export const RESERVATION_TOPICS = ["reservation.reservation.v1", "reservation.issuance-request.v1"];
export const CONSUMED_TOPICS = [
  "registry.organization.v1",
  "registry.membership.v1",
  "registry.device.v1",
  "meter-read.read.v1",
  "certificate.certificate.v1",
];

/** The reservation service wired to a fresh database and topic prefix on the real PostgreSQL and Kafka. */
export async function startReservation(env: Record<string, string> = {}, opts: { topics?: string[] } = {}) {
  const [database, testKafka] = await Promise.all([
    createTestDatabase({ cwd: serviceDir }),
    createTestKafka({ topics: opts.topics ?? RESERVATION_TOPICS }),
  ]);
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const config = ConfigSchema.parse({
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    DATABASE_URL: database.url,
    KAFKA_BROKERS: testKafka.brokers,
    KAFKA_TOPIC_PREFIX: testKafka.topicPrefix,
    JWT_PUBLIC_KEY: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    WINDOW_CLOSE_DELAY_SECONDS: "0",
    ...env,
  });
  const db = createDb(config.DATABASE_URL);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: "reservation-test" });
  const producer = new EventProducer(kafka, {
    source: "reservation",
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
  });
  await producer.connect();
  const relay = new OutboxRelay({ db, producer, pollIntervalMs: 50 });
  relay.start();
  const app = await buildApp({ config, db, kafkaReady: async () => true, published: () => relay.nudge() });
  const issuance: IssuanceOptions = {
    db,
    minCertificateWh: config.MIN_CERTIFICATE_WH,
    closeDelayMs: config.WINDOW_CLOSE_DELAY_SECONDS * 1000,
    windowsPerTransaction: config.WINDOWS_PER_TRANSACTION,
    published: () => relay.nudge(),
  };

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
    database,
    keys,
    tokenFor,
    auth: (sub: string) => ({ authorization: `Bearer ${tokenFor(sub)}` }),
    /** One issuance pass, as the service's loop runs it. */
    issue: (now = new Date()) => runIssuance(issuance, now),
    async close() {
      await app.close();
      await relay.stop();
      await producer.disconnect();
      await closeDb(db);
      await database.drop();
    },
  };
}
export type Service = Awaited<ReturnType<typeof startReservation>>;

/** An organization with members, written as the registry projection would. */
export async function seedOrg(
  db: Db,
  orgId: string,
  kind: "buyer" | "developer",
  members: Record<string, "owner" | "admin" | "operator" | "viewer"> = {},
) {
  await db.organization.create({ data: { id: orgId, name: `Org ${orgId}`, kind } });
  for (const [identityId, role] of Object.entries(members)) {
    await db.membership.create({ data: { orgId, identityId, role } });
  }
}

/** Devices of a developer organization, written as the registry projection would. */
export async function seedDevices(
  db: Db,
  orgId: string,
  ids: string[],
  fields: { countryCode?: string; fuelCode?: string; capacityW?: number } = {},
) {
  await db.device.createMany({
    data: ids.map((id) => ({
      id,
      orgId,
      siteId: `sit-${orgId}`,
      name: id,
      type: "inverter",
      state: "active",
      countryCode: fields.countryCode ?? "IND",
      fuelCode: fields.fuelCode ?? "ES100",
      capacityW: fields.capacityW ?? 5_000,
    })),
  });
}

export const HOUR = 3_600_000;

/** The start of the current UTC hour minus `hours`. */
export const hoursAgo = (hours: number) => new Date(Math.floor(Date.now() / HOUR) * HOUR - hours * HOUR);

/** A counted read as meter-read publishes it (whole Wh over [start, end)). */
export function countedRead(
  readId: string,
  start: Date,
  end: Date,
  energyWh: number,
  version = 1,
): CountedRead {
  return {
    readId,
    version,
    readType: "history",
    source: "api",
    start: start.toISOString(),
    end: end.toISOString(),
    energyWh,
    valueWh: energyWh,
    eligible: true,
    flags: [],
    contentHash: Buffer.from(`${readId}:${version}`).toString("hex").padEnd(64, "0").slice(0, 64),
    recordedAt: new Date().toISOString(),
  };
}

/** A reservation body for the API (the seed's input), with overrides. */
export function reservationBody(deviceIds: string[], overrides: Record<string, unknown> = {}) {
  return {
    name: "Netflix 2026",
    deviceIds,
    targetVolumeInMegaWattHour: 100,
    reservationStartDate: hoursAgo(3).toISOString(),
    reservationEndDate: new Date(Date.now() + 30 * 24 * HOUR).toISOString(),
    frequency: "hourly",
    authorityToExceed: true,
    blockchainAddress: "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F",
    continueWithReservationIfOneOrMoreDevicesUnavailableForReservation: false,
    continueWithReservationIfTargetCapacityIsLessThanDeviceTotalCapacityBetweenDuration: true,
    ...overrides,
  };
}
