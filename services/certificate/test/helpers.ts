import { generateKeyPairSync, randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { IssuanceRequest } from "@energy/contracts";
import { ANVIL_KEYS, type Anvil, startAnvil } from "@energy/infra/anvil";
import { createKafka, EventProducer } from "@energy/kafka";
import { createTestDatabase, createTestKafka, waitFor } from "@energy/testing";
import { JsonRpcProvider, Wallet } from "ethers";
import jwt from "jsonwebtoken";
import { buildApp } from "../src/app.ts";
import { registryAt } from "../src/chain/registry.ts";
import { ConfigSchema } from "../src/config.ts";
import { closeDb, createDb } from "../src/db.ts";
import { createParts } from "../src/service.ts";

export const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");

export const CERTIFICATE_TOPICS = [
  "reservation.issuance-request.v1",
  "reservation.reservation.v1",
  "certificate.certificate.v1",
  "registry.organization.v1",
  "registry.membership.v1",
];

const ENVELOPE_HEADER = "envelope";
const quiet = process.env.CERTIFICATE_TEST_LOG ? console : { info() {}, warn() {}, error() {} };

/**
 * The file's topics. The shared broker sometimes answers a topic creation with "does not host this
 * topic-partition" while its metadata catches up under load: try again, a few times.
 */
async function testTopics() {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createTestKafka({ topics: CERTIFICATE_TOPICS });
    } catch (error) {
      if (attempt >= 3 || !/does not host this topic-partition/.test(String(error))) throw error;
      await new Promise((r) => setTimeout(r, 1_000 * attempt));
    }
  }
}

/** Anvil's first keys: the issuer, a custodial buyer, a self-custody buyer. */
export const ISSUER_KEY = ANVIL_KEYS[0];
export const BUYER_KEY = ANVIL_KEYS[1];
export const OTHER_KEY = ANVIL_KEYS[2];

/** The service wired to a fresh database, topic prefix and chain (anvil) on the real components. */
export async function startCertificate(
  opts: { env?: Record<string, string>; anvil?: Anvil; startSender?: boolean } = {},
) {
  const [database, testKafka, anvil] = await Promise.all([
    createTestDatabase({ cwd: serviceDir }),
    testTopics(),
    opts.anvil ?? startAnvil(),
  ]);
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const env = {
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    PORT: "0",
    DATABASE_URL: database.url,
    KAFKA_BROKERS: testKafka.brokers,
    KAFKA_TOPIC_PREFIX: testKafka.topicPrefix,
    JWT_PUBLIC_KEY: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    CHAIN_RPC_URL: anvil.url,
    ISSUER_PRIVATE_KEY: ISSUER_KEY,
    CONFIRMATIONS: "2",
    POLL_INTERVAL_MS: "100",
    ...opts.env,
  };
  const config = ConfigSchema.parse(env);
  const db = createDb(config.DATABASE_URL, 5);
  const parts = await createParts(config, db, quiet);
  const app = await buildApp({
    config,
    db,
    chain: parts.chain,
    kafkaReady: async () => true,
    nudgeChain: () => parts.sender.nudge(),
  });
  parts.relay.start();
  await Promise.all(parts.consumers.map((c) => c.start()));
  if (opts.startSender !== false) await parts.sender.start();

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: "certificate-test" });
  const reservationProducer = new EventProducer(kafka, {
    source: "reservation",
    topicPrefix: testKafka.topicPrefix,
  });
  await reservationProducer.connect();
  const provider = new JsonRpcProvider(anvil.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const buyer = new Wallet(BUYER_KEY, provider);
  const registry = registryAt(parts.chain.registryAddress, provider);

  const tokenFor = (sub: string, typ = "user") =>
    jwt.sign({ typ }, keys.privateKey, {
      algorithm: "ES256",
      subject: sub,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      expiresIn: "5m",
    });

  // Every certificate result, as published: a reader from the beginning of the topic for the whole file.
  // biome-ignore lint/suspicious/noExplicitAny: each test reads the fields of its event type
  const events: Array<{ type: string | undefined; payload: any }> = [];
  const collector = kafka.consumer({ groupId: `${testKafka.topicPrefix}collector`, maxWaitTimeInMs: 100 });
  await collector.connect();
  await collector.subscribe({
    topic: `${testKafka.topicPrefix}certificate.certificate.v1`,
    fromBeginning: true,
  });
  await collector.run({
    eachMessage: async ({ message }) => {
      const envelope = JSON.parse(message.headers?.[ENVELOPE_HEADER]?.toString() ?? "{}") as {
        type?: string;
      };
      events.push({ type: envelope.type, payload: JSON.parse(message.value?.toString() ?? "null") });
    },
  });

  let closed = false;
  return {
    app,
    db,
    config,
    env,
    parts,
    anvil,
    provider,
    buyer,
    registry,
    testKafka,
    auth: (sub: string) => ({ authorization: `Bearer ${tokenFor(sub)}` }),
    rpc: (method: string, params: unknown[] = []) => provider.send(method, params),
    /** Mines `n` blocks now. */
    mine: (n = 1) => provider.send("anvil_mine", [`0x${n.toString(16)}`]),
    publishRequest: (request: IssuanceRequest) =>
      reservationProducer.publish({
        topic: "reservation.issuance-request.v1",
        key: request.reservationId,
        type: "issuance.requested",
        payload: request,
      }),
    publishReservation: (type: string, payload: unknown) =>
      reservationProducer.publish({
        topic: "reservation.reservation.v1",
        key: (payload as { reservationId: string }).reservationId,
        type,
        payload,
      }),
    /** Waits for the certificate of a request to reach `status`. */
    certificateOf: (requestId: string, status: string, timeoutMs = 20_000) =>
      waitFor(
        `certificate of ${requestId} to be ${status}`,
        async () => {
          const c = await db.certificate.findUnique({ where: { requestId } });
          return c?.status === status ? c : undefined;
        },
        { timeoutMs },
      ),
    events,
    /** Waits for the result of `type` about `requestId` (or matching `where`). */
    // biome-ignore lint/suspicious/noExplicitAny: as above
    result: (type: string, match: (payload: any) => boolean) =>
      waitFor(
        `${type} to be published`,
        () => events.find((e) => e.type === type && match(e.payload))?.payload,
        {
          timeoutMs: 20_000,
        },
      ),
    kafka,
    waitFor: <T>(what: string, check: () => Promise<T>, timeoutMs = 20_000) =>
      waitFor(what, check, { timeoutMs }),
    async stopParts() {
      await app.close();
      await parts.stop();
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close().catch(() => {});
      await parts.stop().catch(() => {});
      await reservationProducer.disconnect();
      await collector.disconnect();
      provider.destroy();
      await closeDb(db);
      await database.drop();
      if (!opts.anvil) await anvil.stop();
    },
  };
}
export type CertificateHarness = Awaited<ReturnType<typeof startCertificate>>;

/** An issuance request as the reservation service publishes it. */
export function issuanceRequest(
  overrides: Partial<IssuanceRequest> & { buyerAddress: string; energyPerDeviceWh?: number[] },
): IssuanceRequest {
  const reservationId = overrides.reservationId ?? `res-${randomUUID().slice(0, 8)}`;
  const start = overrides.window?.start ?? "2026-11-01T00:00:00.000Z";
  const end = overrides.window?.end ?? "2026-11-01T03:00:00.000Z";
  const perDevice = overrides.energyPerDeviceWh ?? [3_000, 1_500];
  const contributions = perDevice.map((energyWh, i) => ({
    deviceId: `dev-${i + 1}`,
    orgId: "org-dev",
    siteId: "sit-1",
    name: `Rooftop ${i + 1}`,
    externalId: null,
    countryCode: "IND",
    fuelCode: "ES100",
    deviceTypeCode: "TC110",
    type: "inverter",
    capacityW: 5_000,
    commissioningDate: "2024-03-01",
    gridInterconnection: true,
    offTaker: null,
    address: "Feroke, Kerala",
    latitude: 11.18,
    longitude: 75.84,
    energyWh,
    // Half-hourly reads over the window, the energy spread evenly (the last read takes the rest).
    reads: halfHours(start, end).map((h, j, all) => ({
      readId: `read-${i + 1}-${j}`,
      version: 1,
      contentHash: (i * 100 + j).toString(16).padStart(64, "0"),
      start: h.start,
      end: h.end,
      energyWh:
        j < all.length - 1
          ? Math.floor(energyWh / all.length)
          : energyWh - Math.floor(energyWh / all.length) * j,
      late: false,
    })),
  }));
  const { energyPerDeviceWh: _ignored, ...rest } = overrides;
  const requestId = overrides.requestId ?? randomUUID();
  return {
    idempotencyKey: `${reservationId}:${start}:v1`,
    requestId,
    reservationId,
    version: 1,
    buyerOrgId: "org-buyer",
    buyerOrganization: {
      orgId: "org-buyer",
      name: "Acme Buyer",
      blockchainAccountAddress: overrides.buyerAddress,
    },
    frequency: "hourly",
    timezone: "UTC",
    window: { start, end },
    energyWh: perDevice.reduce((a, b) => a + b, 0),
    carriedOverWh: 0,
    late: false,
    capped: false,
    contributions,
    reservation: {
      name: "Netflix 2026",
      start: "2026-10-01T00:00:00.000Z",
      end: "2027-10-01T00:00:00.000Z",
      targetVolumeWh: 100_000_000,
      authorityToExceed: false,
      requestedWh: 0,
      succeededWh: 0,
      failedWh: 0,
    },
    requestedAt: "2026-11-01T03:05:00.000Z",
    ...rest,
  };
}

function halfHours(start: string, end: string) {
  const out: Array<{ start: string; end: string }> = [];
  for (let t = Date.parse(start); t < Date.parse(end); t += 1_800_000) {
    out.push({
      start: new Date(t).toISOString(),
      end: new Date(Math.min(t + 1_800_000, Date.parse(end))).toISOString(),
    });
  }
  return out;
}
