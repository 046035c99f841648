import { generateKeyPairSync, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createKafka, EventProducer, envelopeFromHeaders, OutboxRelay } from "@energy/kafka";
import { createTestDatabase, createTestKafka, type TestKafka, waitFor } from "@energy/testing";
import jwt from "jsonwebtoken";
import { RPCClient } from "ocpp-rpc";
import { buildApp } from "../src/app.ts";
import { startInstanceLoop } from "../src/central/instance.ts";
import { ConfigSchema } from "../src/config.ts";
import { commandConsumer } from "../src/consumers/commands.ts";
import { closeDb, createDb, type Db } from "../src/db.ts";
import { hashPassword } from "../src/domain/password.ts";

type Kafka = ReturnType<typeof createKafka>;
type Consumer = ReturnType<Kafka["consumer"]>;

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");

export const OCPP_TOPICS = [
  "ocpp.charger.v1",
  "ocpp.transaction.v1",
  "ocpp.command.v1",
  "ocpp.command-result.v1",
];
export const REGISTRY_TOPICS = [
  "registry.organization.v1",
  "registry.membership.v1",
  "registry.device.v1",
  "registry.der.v1",
];

/** A message the collector read: its envelope type and JSON payload. */
export interface Collected {
  topic: string;
  key: string | null;
  type: string;
  correlationId: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read the payloads of several event types
  payload: Record<string, any>;
}

/**
 * Reads the given topics from the beginning for the whole test file (one group join, not one per test)
 * and keeps what arrives, so tests wait for the events a user would see on Kafka.
 */
export async function collectTopics(kafka: Kafka, prefix: string, topics: string[]) {
  const consumer: Consumer = kafka.consumer({
    groupId: `collector-${randomBytes(6).toString("hex")}`,
    maxWaitTimeInMs: 100,
  });
  const messages: Collected[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: topics.map((t) => prefix + t), fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const envelope = envelopeFromHeaders(message.headers);
      messages.push({
        topic: topic.slice(prefix.length),
        key: message.key?.toString() ?? null,
        type: envelope.type,
        correlationId: envelope.correlationId,
        payload: JSON.parse(message.value?.toString() ?? "null"),
      });
    },
  });
  return {
    messages,
    /** Waits until `count` messages match and returns them. */
    async waitFor(what: string, match: (m: Collected) => boolean, count = 1, timeoutMs = 15_000) {
      return waitFor(
        what,
        () => {
          const found = messages.filter(match);
          return found.length >= count ? found : null;
        },
        { timeoutMs },
      );
    },
    close: () => consumer.disconnect(),
  };
}

const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });

/**
 * The ocpp service listening on a free port, on a fresh database and topic prefix — or, with `shareWith`,
 * a second instance on the same database and topics (several instances share chargers). `commands` also
 * starts what server.ts starts for commands: the command consumer and the instance loop.
 */
export async function startOcpp(
  env: Record<string, string> = {},
  opts: {
    topics?: string[];
    commands?: boolean;
    shareWith?: { config: { DATABASE_URL: string }; testKafka: TestKafka };
  } = {},
) {
  const [database, testKafka]: [{ url: string; drop: () => Promise<void> }, TestKafka] = opts.shareWith
    ? [{ url: opts.shareWith.config.DATABASE_URL, drop: async () => {} }, opts.shareWith.testKafka]
    : await Promise.all([
        createTestDatabase({ cwd: serviceDir }),
        createTestKafka({ topics: [...OCPP_TOPICS, ...REGISTRY_TOPICS, ...(opts.topics ?? [])] }),
      ]);
  const config = ConfigSchema.parse({
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    DATABASE_URL: database.url,
    KAFKA_BROKERS: testKafka.brokers,
    KAFKA_TOPIC_PREFIX: testKafka.topicPrefix,
    JWT_PUBLIC_KEY: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    PING_INTERVAL_SECONDS: "30",
    ...env,
  });
  const db = createDb(config.DATABASE_URL);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: "ocpp-test" });
  const producer = new EventProducer(kafka, { source: "ocpp", topicPrefix: config.KAFKA_TOPIC_PREFIX });
  await producer.connect();
  const relay = new OutboxRelay({ db, producer, pollIntervalMs: 50 });
  relay.start();
  const instanceId = `test-${randomBytes(3).toString("hex")}`;
  const app = await buildApp({
    config,
    db,
    instanceId,
    kafkaReady: async () => true,
    published: () => relay.nudge(),
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as AddressInfo).port;
  const commandRunner = opts.commands
    ? commandConsumer({
        kafka,
        producer,
        commands: app.commands,
        instanceId,
        topicPrefix: config.KAFKA_TOPIC_PREFIX,
        groupId: testKafka.groupId(`commands-${instanceId}`),
      })
    : null;
  await commandRunner?.start();
  const loop = opts.commands
    ? startInstanceLoop({
        db,
        central: app.central,
        commands: app.commands,
        instanceId,
        intervalMs: 500,
        log: app.log,
      })
    : null;

  const tokenFor = (sub: string, typ = "user") =>
    jwt.sign({ typ }, keys.privateKey, {
      algorithm: "ES256",
      subject: sub,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      expiresIn: "5m",
    });
  const clients: RPCClient[] = [];

  return {
    app,
    db,
    config,
    kafka,
    producer,
    relay,
    testKafka,
    instanceId,
    port,
    /** ws://127.0.0.1:<port>/ocpp */
    endpoint: `ws://127.0.0.1:${port}/ocpp`,
    tokenFor,
    auth: (sub: string, typ = "user") => ({ authorization: `Bearer ${tokenFor(sub, typ)}` }),
    /** An ocpp-rpc charge point (strict mode off unless asked, so tests can send what a bad charger would). */
    async connect(
      identity: string,
      password: string | undefined,
      version: "ocpp1.6" | "ocpp2.0.1",
      options: { strict?: boolean } = {},
    ) {
      const client = new RPCClient({
        endpoint: `ws://127.0.0.1:${port}/ocpp`,
        identity,
        ...(password !== undefined ? { password } : {}),
        protocols: [version],
        strictMode: options.strict ?? false,
        reconnect: false,
      } as never);
      clients.push(client);
      await client.connect();
      return client;
    },
    loop,
    async close() {
      await Promise.allSettled(clients.map((c) => c.close({ force: true } as never)));
      await commandRunner?.stop();
      await app.close();
      await loop?.stop();
      await relay.stop();
      await producer.disconnect();
      await closeDb(db);
      await database.drop();
    },
  };
}
export type Ocpp = Awaited<ReturnType<typeof startOcpp>>;

export const ORG = "org-ocpp-test";
export const PASSWORD = "correct-horse-battery-1";

/**
 * A registered charger as the registry projection would write it: its device, one ev_charger_port DER
 * per connector named ev-port-<n>, a password, and an owner member of the organization.
 */
export async function seedCharger(
  db: Db,
  opts: {
    chargePointId: string;
    orgId?: string;
    type?: "ev_charger" | "v2x_charger";
    connectors?: number;
    password?: string | null;
    owner?: string;
    ratedPowerW?: number;
  },
) {
  const orgId = opts.orgId ?? ORG;
  await db.chargerDevice.create({
    data: {
      id: opts.chargePointId,
      orgId,
      siteId: "sit-ocpp-test",
      type: opts.type ?? "ev_charger",
      name: opts.chargePointId,
      state: "active",
      make: "TestMake",
    },
  });
  for (let n = 1; n <= (opts.connectors ?? 1); n++) {
    await db.portDer.create({
      data: {
        id: `der-${opts.chargePointId}-${n}`,
        deviceId: opts.chargePointId,
        orgId,
        name: `ev-port-${n}`,
        ratedPowerW: opts.ratedPowerW ?? 11_000,
      },
    });
  }
  if (opts.password !== null) {
    await db.chargerCredential.create({
      data: {
        chargePointId: opts.chargePointId,
        passwordHash: await hashPassword(opts.password ?? PASSWORD),
        setBy: "usr-test",
      },
    });
  }
  if (opts.owner) {
    await db.membership.upsert({
      where: { orgId_identityId: { orgId, identityId: opts.owner } },
      create: { orgId, identityId: opts.owner, role: "owner" },
      update: {},
    });
  }
}

/** A 1.6 BootNotification. */
export const boot16 = { chargePointVendor: "TestVendor", chargePointModel: "TestModel" };
/** A 2.0.1 BootNotification. */
export const boot201 = {
  reason: "PowerUp",
  chargingStation: { vendorName: "TestVendor", model: "TestModel" },
};

/** An HTTP upgrade attempt that reports the status the server answered (or 101 when it upgraded). */
export async function upgradeStatus(
  url: string,
  headers: Record<string, string>,
  protocol = "ocpp1.6",
): Promise<number> {
  const { default: WebSocket } = await import("ws");
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocol ? [protocol] : [], { headers });
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("open", () => {
      resolve(101);
      ws.close();
    });
    ws.on("error", (err) => reject(err));
  });
}

export const basic = (identity: string, password: string) =>
  `Basic ${Buffer.from(`${identity}:${password}`).toString("base64")}`;
