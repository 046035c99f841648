import { generateKeyPairSync } from "node:crypto";
import { fileURLToPath } from "node:url";
import { topics } from "@energy/contracts";
import { ANVIL_KEYS, type Anvil, startAnvil } from "@energy/infra/anvil";
import { createKafka, EventProducer } from "@energy/kafka";
import { type ServiceProcess, spawnService } from "@energy/service-kit/testing";
import {
  createTestDatabase,
  createTestKafka,
  type TestDatabase,
  type TestKafka,
  waitFor,
} from "@energy/testing";
import { Contract, JsonRpcProvider, Wallet } from "ethers";
import jwt from "jsonwebtoken";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The value chain across services, each its real src/server.ts in a process of its own, on one fresh topic
// prefix of the shared Kafka broker, fresh databases and a fresh anvil: registry facts (published as the
// registry publishes them) → meter reads posted to meter-read → a buyer's reservation of the device → its
// issuance windows close → certificate mints on chain. The buyer's on-chain balance of each certificate
// equals, to the Wh, the reads whose end falls in its window; reads outside the reservation count nothing.

const serviceDir = (name: string) => fileURLToPath(new URL(`../../services/${name}`, import.meta.url));
const SERVICES = ["meter-read", "reservation", "certificate"] as const;
type ServiceName = (typeof SERVICES)[number];

/** Every topic the three services own or consume (and the registry's they project). */
const TOPICS = [
  topics.registryOrganization,
  topics.registryMembership,
  topics.registrySite,
  topics.registryDevice,
  topics.ingestionInterval,
  topics.meterReadRead,
  topics.reservationReservation,
  topics.reservationIssuanceRequest,
  topics.certificateCertificate,
].map((t) => t.name);

const HOUR = 3_600_000;
const BUYER_ORG = "org-e2e-buyer";
const DEV_ORG = "org-e2e-dev";
const BUYER_USER = "usr-e2e-buyer";
const DEV_USER = "usr-e2e-dev";
const SITE = "sit-e2e";
const DEVICE = "dev-e2e-1";
const BUYER = new Wallet(ANVIL_KEYS[1]).address; // EIP-55 checksummed

const registryAbi = [
  "function balanceOf(address account, uint256 id) view returns (uint256)",
  "function lastTokenId() view returns (uint256)",
];

let anvil: Anvil | undefined;
let testKafka: TestKafka;
const databases: Partial<Record<ServiceName, TestDatabase>> = {};
const processes: Partial<Record<ServiceName, ServiceProcess>> = {};
let registryProducer: EventProducer | undefined;
let tokenFor: (sub: string) => string;

async function rows<T>(service: ServiceName, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databases[service]!.url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

async function api(service: ServiceName, method: string, path: string, sub: string, body?: unknown) {
  const res = await fetch(`${processes[service]!.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokenFor(sub)}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: each call reads the fields of its own answer
  return { status: res.status, body: (await res.json()) as any };
}

beforeAll(async () => {
  try {
    anvil = await startAnvil();
  } catch (error) {
    throw new Error(`anvil (npm @foundry-rs/anvil) could not be started: ${(error as Error).message}`);
  }
  const [kafka, ...dbs] = await Promise.all([
    createTestKafka({ topics: TOPICS }),
    ...SERVICES.map((s) => createTestDatabase({ cwd: serviceDir(s) })),
  ]);
  testKafka = kafka;
  SERVICES.forEach((s, i) => {
    databases[s] = dbs[i];
  });
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  tokenFor = (sub) =>
    jwt.sign({ typ: "user" }, keys.privateKey, {
      algorithm: "ES256",
      subject: sub,
      issuer: "energy-registry",
      audience: "energy-platform",
      expiresIn: "10m",
    });
  const common = {
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    KAFKA_BROKERS: testKafka.brokers,
    KAFKA_TOPIC_PREFIX: testKafka.topicPrefix,
    JWT_PUBLIC_KEY: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
  const env: Record<ServiceName, Record<string, string>> = {
    "meter-read": {},
    // windows are requested as soon as they end, looked for every 200 ms
    reservation: { WINDOW_CLOSE_DELAY_SECONDS: "0", ISSUANCE_INTERVAL_MS: "200" },
    // the service deploys the registry contract on this fresh chain and remembers it in its database
    certificate: {
      CHAIN_RPC_URL: anvil.url,
      ISSUER_PRIVATE_KEY: ANVIL_KEYS[0],
      CONFIRMATIONS: "1",
      POLL_INTERVAL_MS: "200",
    },
  };
  // Three cold starts (tsx, Prisma, Kafka) at once on a shared 2-core machine.
  await Promise.all(
    SERVICES.map(async (s) => {
      processes[s] = await spawnService(
        serviceDir(s),
        { ...common, ...env[s], DATABASE_URL: databases[s]!.url },
        { timeoutMs: 90_000 },
      );
    }),
  );
  registryProducer = new EventProducer(
    createKafka({ brokers: testKafka.brokers, clientId: "e2e-registry" }),
    {
      source: "registry",
      topicPrefix: testKafka.topicPrefix,
    },
  );
  await registryProducer.connect();
}, 180_000);

afterAll(async () => {
  await Promise.allSettled(Object.values(processes).map((p) => p.kill()));
  await registryProducer?.disconnect().catch(() => {});
  await Promise.allSettled(Object.values(databases).map((d) => d.drop()));
  await anvil?.stop();
});

describe("reads → reservation → certificate on chain", () => {
  it("mints the buyer a certificate per closed window holding exactly the Wh of its reads", {
    timeout: 120_000,
  }, async () => {
    const producer = registryProducer!;
    // ---- the registry's facts, as the registry publishes them --------------------------------------
    await producer.publish(topics.registryOrganization, "organization.created", {
      orgId: BUYER_ORG,
      name: "Acme Buyer",
      kind: "buyer",
      ownerIdentityId: BUYER_USER,
    });
    await producer.publish(topics.registryOrganization, "organization.created", {
      orgId: DEV_ORG,
      name: "Sunny Rooftops",
      kind: "developer",
      ownerIdentityId: DEV_USER,
    });
    await producer.publish(topics.registrySite, "site.created", {
      siteId: SITE,
      orgId: DEV_ORG,
      name: "Feroke school",
      address: "Feroke, Kerala",
      timezone: "UTC",
    });
    await producer.publish(topics.registryDevice, "device.registered", {
      deviceId: DEVICE,
      orgId: DEV_ORG,
      siteId: SITE,
      type: "inverter",
      state: "active",
      name: "Rooftop 1",
      commIdentityId: null,
      externalId: null,
      make: null,
      model: null,
      capacityW: 5_000,
      commissioningDate: "2024-01-15",
      countryCode: "IND",
      fuelCode: "ES100",
      yieldValue: null,
      createdAt: "2024-01-20T00:00:00.000Z",
    });
    // Each service has projected what it needs of them.
    const projected = async (service: ServiceName, sql: string, params: unknown[]) =>
      waitFor(
        `${service} to project the registry's facts`,
        async () => (await rows(service, sql, params)).length > 0,
        {
          timeoutMs: 30_000,
          intervalMs: 200,
        },
      );
    await Promise.all([
      projected("meter-read", "SELECT 1 FROM device WHERE id = $1 AND capacity_w = 5000", [DEVICE]),
      projected("meter-read", "SELECT 1 FROM membership WHERE org_id = $1 AND identity_id = $2", [
        DEV_ORG,
        DEV_USER,
      ]),
      projected("reservation", "SELECT 1 FROM device WHERE id = $1", [DEVICE]),
      projected("reservation", "SELECT 1 FROM organization WHERE id = $1 AND kind = 'buyer'", [BUYER_ORG]),
      projected("reservation", "SELECT 1 FROM membership WHERE org_id = $1 AND identity_id = $2", [
        BUYER_ORG,
        BUYER_USER,
      ]),
      projected("certificate", "SELECT 1 FROM membership WHERE org_id = $1 AND identity_id = $2", [
        BUYER_ORG,
        BUYER_USER,
      ]),
    ]);

    // ---- meter reads: half-hourly, from an hour before the reservation to two hours into it ---------
    const h0 = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR; // the reservation's start
    const at = (ms: number) => new Date(ms).toISOString();
    const reads = [
      { start: h0 - HOUR, end: h0 - HOUR / 2, wh: 700 }, // before the reservation: never counted
      { start: h0 - HOUR / 2, end: h0, wh: 650 }, // ends at its start: in no window
      { start: h0, end: h0 + HOUR / 2, wh: 1_234 },
      { start: h0 + HOUR / 2, end: h0 + HOUR, wh: 1_111 },
      { start: h0 + HOUR, end: h0 + 1.5 * HOUR, wh: 987 },
      { start: h0 + 1.5 * HOUR, end: h0 + 2 * HOUR, wh: 1_500 },
    ];
    const posted = await api("meter-read", "POST", `/organizations/${DEV_ORG}/reads`, DEV_USER, {
      type: "history",
      unit: "Wh",
      deviceId: DEVICE,
      reads: reads.map((r) => ({ starttimestamp: at(r.start), endtimestamp: at(r.end), value: r.wh })),
    });
    expect(posted.status, JSON.stringify(posted.body)).toBe(200);
    expect(posted.body.refused, JSON.stringify(posted.body)).toBe(0);
    expect(posted.body.stored).toBe(reads.length);
    await waitFor(
      "reservation to hold meter-read's published reads",
      async () =>
        (await rows("reservation", "SELECT 1 FROM meter_read WHERE device_id = $1", [DEVICE])).length ===
        reads.length,
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    // ---- the buyer reserves the device's production from h0 on, hourly --------------------------------
    const reserved = await api(
      "reservation",
      "POST",
      `/organizations/${BUYER_ORG}/reservations`,
      BUYER_USER,
      {
        name: "Acme 2026",
        deviceIds: [DEVICE],
        targetVolumeInMegaWattHour: 100,
        reservationStartDate: at(h0),
        reservationEndDate: at(Date.now() + 30 * 24 * HOUR),
        frequency: "hourly",
        authorityToExceed: true,
        blockchainAddress: BUYER,
        continueWithReservationIfOneOrMoreDevicesUnavailableForReservation: false,
        continueWithReservationIfTargetCapacityIsLessThanDeviceTotalCapacityBetweenDuration: true,
      },
    );
    expect(reserved.status, JSON.stringify(reserved.body)).toBe(201);
    const reservationId: string = reserved.body.id;

    // ---- the closed windows with energy: [h0, h0+1h) and [h0+1h, h0+2h) ----------------------------------
    const expected = [
      { start: at(h0), end: at(h0 + HOUR), wh: 1_234 + 1_111 },
      { start: at(h0 + HOUR), end: at(h0 + 2 * HOUR), wh: 987 + 1_500 },
    ];
    const listed = await waitFor(
      "both certificates confirmed",
      async () => {
        const res = await api(
          "certificate",
          "GET",
          `/organizations/${BUYER_ORG}/certificates?reservationId=${reservationId}`,
          BUYER_USER,
        );
        // biome-ignore lint/suspicious/noExplicitAny: the answer's shape is asserted below
        const certificates = (res.body.certificates ?? []) as any[];
        const failed = certificates.find((c) => c.status === "failed");
        if (failed) throw new Error(`a certificate failed: ${failed.failureReason}`);
        return certificates.filter((c) => c.status === "confirmed").length >= expected.length
          ? certificates
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(listed).toHaveLength(expected.length); // no certificate for a window without reads
    const byStart = [...listed].sort((a, b) => a.periodStart.localeCompare(b.periodStart));

    // ---- the chain, read directly: the buyer owns exactly the Wh of each window's reads ----------------
    const provider = new JsonRpcProvider(anvil!.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    try {
      const registry = new Contract(byStart[0].registryAddress, registryAbi, provider);
      for (const [i, want] of expected.entries()) {
        const c = byStart[i];
        expect(c).toMatchObject({
          periodStart: want.start,
          periodEnd: want.end,
          energyWh: want.wh,
          ownerAddress: BUYER,
          deviceIds: [DEVICE],
          status: "confirmed",
        });
        expect(await registry.getFunction("balanceOf")(BUYER, BigInt(c.tokenId))).toBe(BigInt(want.wh));
        const receipt = await provider.getTransactionReceipt(c.txHash);
        expect(receipt?.status).toBe(1);
      }
      expect(await registry.getFunction("lastTokenId")()).toBe(BigInt(expected.length));
      // Anyone can check a certificate against the chain.
      const verify = await fetch(`${processes.certificate!.url}/verify/${byStart[0].tokenId}`);
      expect(await verify.json()).toMatchObject({ verified: true });
    } finally {
      provider.destroy();
    }

    // ---- the reservation's counters follow the certificate results ---------------------------------------
    const total = expected.reduce((sum, w) => sum + w.wh, 0);
    await waitFor(
      "reservation to count the issued certificates",
      async () => {
        const [r] = await rows<{ succeeded_wh: string; requested_wh: string }>(
          "reservation",
          "SELECT succeeded_wh, requested_wh FROM reservation WHERE id = $1",
          [reservationId],
        );
        return r && Number(r.succeeded_wh) === total && Number(r.requested_wh) === total;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  });
});
