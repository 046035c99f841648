import { randomUUID } from "node:crypto";
import { type EventInput, type IssuanceRequest, topics, windowsRequestedOf } from "@energy/contracts";
import { ANVIL_KEYS, type Anvil, startAnvil } from "@energy/infra/anvil";
import { EventProducer } from "@energy/kafka";
import { startTestService } from "@energy/service-kit/testing";
import { waitFor } from "@energy/testing";
import { JsonRpcProvider, Wallet } from "ethers";
import { registryAt } from "../src/chain/registry.ts";
import { closeDb, createDb } from "../src/db.ts";
import { certificate } from "../src/service.ts";

export const serviceDir = certificate.dir;

const ENVELOPE_HEADER = "envelope";
type ReservationTopic = typeof topics.reservationReservation;

/** Anvil's first keys: the issuer, a custodial buyer, a self-custody buyer. */
export const ISSUER_KEY = ANVIL_KEYS[0];
export const BUYER_KEY = ANVIL_KEYS[1];
export const OTHER_KEY = ANVIL_KEYS[2];

/**
 * Certificate as server.ts starts it (the same declaration and runtime) on a fresh database, topic
 * prefix and chain (anvil) of the real components, without listening (tests use app.inject).
 * `startSender: false` leaves out the chain sender's job (nothing is signed or sent). The harness reads
 * the database with a client of its own, so it goes on reading after the service stopped (in the
 * restart test, the real server.ts takes over the same database).
 */
export async function startCertificate(
  opts: { env?: Record<string, string>; anvil?: Anvil; startSender?: boolean } = {},
) {
  const anvil = opts.anvil ?? (await startAnvil());
  const start = () =>
    startTestService(certificate, {
      env: {
        CHAIN_RPC_URL: anvil.url,
        ISSUER_PRIVATE_KEY: ISSUER_KEY,
        CONFIRMATIONS: "2",
        POLL_INTERVAL_MS: "100",
        LOG_LEVEL: process.env.CERTIFICATE_TEST_LOG ? "info" : "error",
        ...opts.env,
      },
      ...(opts.startSender === false ? { jobs: false } : {}),
    });
  // The shared broker sometimes answers a topic creation with "does not host this topic-partition" while
  // its metadata catches up under load: try again, a few times.
  let service: Awaited<ReturnType<typeof start>> | undefined;
  for (let attempt = 1; !service; attempt++) {
    try {
      service = await start();
    } catch (error) {
      if (attempt >= 3 || !/does not host this topic-partition/.test(String(error))) {
        if (!opts.anvil) await anvil.stop();
        throw error;
      }
      await new Promise((r) => setTimeout(r, 1_000 * attempt));
    }
  }
  const { config, env, chain, sender } = { ...service, ...service.ctx };
  const db = createDb(config.DATABASE_URL, 5);
  const kafka = service.ctx.kafka;
  // Publishes as the reservation service does (its source on the envelope).
  const reservationProducer = new EventProducer(kafka, {
    source: "reservation",
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
  });
  await reservationProducer.connect();
  const provider = new JsonRpcProvider(anvil.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const buyer = new Wallet(BUYER_KEY, provider);
  const registry = registryAt(chain.registryAddress, provider);

  // Every certificate result, as published: a reader from the beginning of the topic for the whole file.
  // biome-ignore lint/suspicious/noExplicitAny: each test reads the fields of its event type
  const events: Array<{ type: string | undefined; payload: any }> = [];
  const collector = kafka.consumer({
    groupId: `${config.KAFKA_TOPIC_PREFIX}collector`,
    maxWaitTimeInMs: 100,
  });
  await collector.connect();
  await collector.subscribe({
    topic: `${config.KAFKA_TOPIC_PREFIX}${topics.certificateCertificate.name}`,
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

  let stopped = false;
  let closed = false;
  const stopService = async () => {
    if (stopped) return;
    stopped = true;
    await service.stop();
    chain.provider.destroy(); // the chain sender's job does it, when it ran
  };
  return {
    app: service.app,
    service,
    db,
    config,
    env,
    chain,
    sender,
    anvil,
    provider,
    buyer,
    registry,
    testKafka: service.testKafka,
    auth: (sub: string) => service.auth(sub),
    rpc: (method: string, params: unknown[] = []) => provider.send(method, params),
    /** Mines `n` blocks now. */
    mine: (n = 1) => provider.send("anvil_mine", [`0x${n.toString(16)}`]),
    publishRequest: (request: IssuanceRequest) =>
      reservationProducer.publish(topics.reservationIssuanceRequest, "issuance.requested", request),
    /** Consecutive requests of one reservation in one `issuance.windows-requested` record. */
    publishWindows: (requests: IssuanceRequest[]) =>
      reservationProducer.publish(
        topics.reservationIssuanceRequest,
        "issuance.windows-requested",
        windowsRequestedOf(requests),
      ),
    publishReservation: (
      type: "reservation.created" | "reservation.updated",
      payload: EventInput<ReservationTopic, "reservation.created">,
    ) => reservationProducer.publish(topics.reservationReservation, type, payload),
    publishReservationEnded: (payload: EventInput<ReservationTopic, "reservation.ended">) =>
      reservationProducer.publish(topics.reservationReservation, "reservation.ended", payload),
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
    /** Stops the service (app, consumers, chain sender, relay); the harness's database client stays. */
    stopService,
    async close() {
      if (closed) return;
      closed = true;
      await stopService().catch(() => {});
      await reservationProducer.disconnect();
      await collector.disconnect();
      provider.destroy();
      await closeDb(db);
      await service.database.drop();
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
