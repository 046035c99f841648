import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { type AnyTopic, topics } from "@energy/contracts";
import { type createKafka, envelopeFromHeaders } from "@energy/kafka";
import { startService } from "@energy/service-kit";
import { startTestService } from "@energy/service-kit/testing";
import { waitFor } from "@energy/testing";
import { RPCClient } from "ocpp-rpc";
import type { Db } from "../src/db.ts";
import { hashPassword } from "../src/domain/password.ts";
import { ocpp as ocppService } from "../src/service.ts";

type Kafka = ReturnType<typeof createKafka>;
type Consumer = ReturnType<Kafka["consumer"]>;

/** The registry's topics the ocpp service consumes, so that tests can publish as the registry does. */
export const REGISTRY_TOPICS = [
  topics.registryOrganization,
  topics.registryMembership,
  topics.registryDevice,
  topics.registryDer,
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
export async function collectTopics(kafka: Kafka, prefix: string, topics: readonly AnyTopic[]) {
  const consumer: Consumer = kafka.consumer({
    groupId: `collector-${randomBytes(6).toString("hex")}`,
    maxWaitTimeInMs: 100,
  });
  const messages: Collected[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: topics.map((t) => prefix + t.name), fromBeginning: true });
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

/** The harness of the first instance (database, topics, token keys), shared by a second one. */
const startFirst = (env: Record<string, string>, commands: boolean) =>
  startTestService(ocppService, {
    env,
    consumers: commands,
    jobs: commands,
    topics: REGISTRY_TOPICS,
  });
type Harness = Awaited<ReturnType<typeof startFirst>>;

/**
 * The ocpp service as server.ts starts it (the same declaration and runtime: startTestService), listening
 * on a free port, on a fresh database and topic prefix — or, with `shareWith`, a second instance on the
 * same database and topics (several instances share chargers), started by the same runtime. `commands`
 * also runs its consumer groups (registry projection, commands) and its job (the instance loop, every
 * 500 ms); without it the central system and HTTP API run alone.
 */
export async function startOcpp(
  env: Record<string, string> = {},
  opts: { commands?: boolean; shareWith?: { harness: Harness } } = {},
) {
  const commands = opts.commands ?? false;
  const instanceEnv = {
    INSTANCE_ID: `test-${randomBytes(3).toString("hex")}`,
    INSTANCE_LOOP_INTERVAL_MS: "500",
    ...env,
  };
  let harness: Harness;
  let started: Pick<Harness, "ctx" | "app" | "relay" | "closers" | "stop">;
  if (opts.shareWith) {
    harness = opts.shareWith.harness;
    const second = await startService(
      { ...ocppService, outboxPollIntervalMs: 50, ...(commands ? {} : { consumers: [], jobs: [] }) },
      { env: { ...harness.env, ...instanceEnv } },
    );
    await second.consumersJoined;
    started = second;
  } else {
    harness = await startFirst(instanceEnv, commands);
    started = harness;
  }
  const { ctx, app } = started;
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as AddressInfo).port;
  const clients: RPCClient[] = [];
  const loop = started.closers.find((c) => c.name === "instance loop");

  return {
    app,
    db: ctx.db,
    config: ctx.config,
    kafka: ctx.kafka,
    producer: ctx.producer,
    relay: started.relay,
    central: ctx.central,
    commands: ctx.commands,
    /** the wss listener, when OCPP_TLS_PORT was given */
    tls: ctx.tls,
    harness,
    testKafka: harness.testKafka,
    instanceId: ctx.instanceId,
    port,
    /** ws://127.0.0.1:<port>/ocpp */
    endpoint: `ws://127.0.0.1:${port}/ocpp`,
    tokenFor: (sub: string, typ = "user") => harness.tokenFor(sub, typ),
    auth: (sub: string, typ = "user") => harness.auth(sub, typ),
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
    /** the instance loop (a job of the runtime), when `commands` started it */
    loop: loop ? { stop: () => loop.close() } : null,
    async close() {
      await Promise.allSettled(clients.map((c) => c.close({ force: true } as never)));
      // the first instance's harness also drops the database; a second one only stops
      if (started === harness) await harness.close();
      else await started.stop();
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
