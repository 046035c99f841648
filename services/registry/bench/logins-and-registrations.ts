/**
 * Logins (challenge + Ed25519 sign + verify) and device registrations per second, over real HTTP against
 * the registry started in this process on a fresh copy of its database and the Kafka broker, with the
 * outbox relay publishing what the registrations record.
 *
 *   node --import tsx bench/logins-and-registrations.ts [--n 2000] [--concurrency 20]
 *
 * TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres), KAFKA_BROKERS (default
 * 127.0.0.1:9092). Prints figures; asserts nothing.
 */
import { generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiClient, keyLogin } from "@energy/client";
import { ensureTopics } from "@energy/infra/topics";
import { startService } from "@energy/service-kit";
import { topicsOf } from "@energy/service-kit/testing";
import { createTestDatabase } from "@energy/testing";
import { ConfigSchema } from "../src/config.ts";
import { registry } from "../src/service.ts";

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = arg("--n", 2000);
const CONCURRENCY = arg("--concurrency", 20);

process.env.TEST_POSTGRES_URL ??= "postgresql://postgres@127.0.0.1:5432/postgres";
const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const prefix = `bench${randomBytes(4).toString("hex")}.`;

const database = await createTestDatabase({ cwd: serviceDir });
await ensureTopics({ brokers, prefix, only: topicsOf(registry).map((t) => t.name) });
const rootKeys = generateKeyPairSync("ed25519");
const jwtKeys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const config = ConfigSchema.parse({
  NODE_ENV: "test",
  LOG_LEVEL: "warn",
  DATABASE_URL: database.url,
  KAFKA_BROKERS: brokers,
  KAFKA_TOPIC_PREFIX: prefix,
  JWT_PUBLIC_KEY: jwtKeys.publicKey.export({ type: "spki", format: "pem" }).toString(),
  JWT_PRIVATE_KEY: jwtKeys.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  ROOT_PUBLIC_KEY: rootKeys.publicKey.export({ type: "spki", format: "pem" }).toString(),
});
// The registry as server.ts runs it (same declaration and runtime), on the bench's database and topics.
const service = await startService(registry, { config });
const { db } = service.ctx;
const app = service.app;
const base = await app.listen({ port: 0, host: "127.0.0.1" });

async function call<T>(method: string, path: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const registryClient = new ApiClient(base);
const login = async (identityId: string, privateKey: KeyObject) =>
  (await keyLogin(registryClient, identityId, privateKey)).accessToken;

/** Runs `n` operations, `concurrency` at a time; the latency of each in ms. */
async function run(n: number, concurrency: number, op: (i: number, worker: number) => Promise<unknown>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await op(i, worker);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { perSecond: n / seconds, seconds, p50: at(0.5), p99: at(0.99) };
}

const print = (name: string, r: Awaited<ReturnType<typeof run>>) =>
  console.log(
    `${name.padEnd(22)} ${r.perSecond.toFixed(0).padStart(6)}/s  (${N} in ${r.seconds.toFixed(2)} s, ` +
      `concurrency ${CONCURRENCY})  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms`,
  );

try {
  // One user per worker, each with its own Ed25519 key, registered by the root.
  const rootToken = await login("root", rootKeys.privateKey);
  const users = await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, i) => {
      const keys = generateKeyPairSync("ed25519");
      const publicKey = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
      const { id } = await call<{ id: string }>(
        "POST",
        "/identities",
        { type: "user", name: `bench ${i}`, publicKey },
        rootToken,
      );
      return { id, privateKey: keys.privateKey };
    }),
  );
  // warm-up
  await run(100, CONCURRENCY, (_, w) => login(users[w]!.id, users[w]!.privateKey));
  const logins = await run(N, CONCURRENCY, (_, w) => login(users[w]!.id, users[w]!.privateKey));

  const token = await login(users[0]!.id, users[0]!.privateKey);
  const { id: orgId } = await call<{ id: string }>(
    "POST",
    "/organizations",
    { name: "Bench", kind: "developer" },
    token,
  );
  const { id: siteId } = await call<{ id: string }>(
    "POST",
    `/organizations/${orgId}/sites`,
    { name: "Bench site", timezone: "Europe/Stockholm" },
    token,
  );
  const register = (i: number) =>
    call(
      "POST",
      `/organizations/${orgId}/devices`,
      { siteId, type: "inverter", name: `inverter ${i}` },
      token,
    );
  await run(100, CONCURRENCY, (i) => register(N + i)); // warm-up
  const registrations = await run(N, CONCURRENCY, (i) => register(i));

  const drainStart = performance.now();
  while ((await db.outboxMessage.count({ where: { sentAt: null } })) > 0) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  console.log(
    `registry bench (node ${process.version}, PostgreSQL ${process.env.TEST_POSTGRES_URL}, Kafka ${brokers})`,
  );
  print("logins", logins);
  print("device registrations", registrations);
  console.log(`outbox drained ${(performance.now() - drainStart).toFixed(0)} ms after the last registration`);
} finally {
  const admin = service.ctx.kafka.admin();
  await service.stop();
  await database.drop();
  await admin.connect();
  const names = topicsOf(registry).map((t) => t.name);
  await admin
    .deleteTopics({ topics: names.flatMap((t) => [prefix + t, `${prefix}${t}.dlq`]) })
    .catch(() => {});
  await admin.disconnect();
}
