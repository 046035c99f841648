/**
 * Chargers held by one ocpp process, and what they cost. Prints its figures; not a test.
 *
 *   cd services/ocpp && KAFKA_BROKERS=127.0.0.1:9092 node --import tsx bench/chargers.ts \
 *     [--chargers 2000] [--load 30s] [--meter-interval 10s] [--heartbeat 60s] [--concurrency 200]
 *
 * The service runs as a child process (src/server.ts) on its own database and topic prefix, on the broker
 * and PostgreSQL named by KAFKA_BROKERS / POSTGRES_URL. The chargers (1.6J, Basic auth, one connector) are
 * plain websockets in this process, so the child's RSS is the server's alone. Phases:
 *  1. connect and boot every charger (RSS before and after: KiB per connection);
 *  2. load: each charger heartbeats every --heartbeat and sends MeterValues every --meter-interval (random
 *     phase) for --load; p50/p99 latency of each call;
 *  3. boot storm: every socket dropped at once, every charger reconnects and boots at once: time until all
 *     are Accepted.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { spawnService, topicsOf } from "@energy/service-kit/testing";
import { createTestDatabase, createTestKafka } from "@energy/testing";
import pg from "pg";
import WebSocket from "ws";
import { hashPassword } from "../src/domain/password.ts";
import { ocpp } from "../src/service.ts";

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    chargers: { type: "string", default: "2000" },
    load: { type: "string", default: "30" },
    "meter-interval": { type: "string", default: "10" },
    heartbeat: { type: "string", default: "60" },
    concurrency: { type: "string", default: "10" },
  },
});
const N = Number(values.chargers);
const LOAD_S = Number.parseFloat(values.load);
const METER_S = Number.parseFloat(values["meter-interval"]);
const HEARTBEAT_S = Number.parseFloat(values.heartbeat);
const CONCURRENCY = Number(values.concurrency);
process.env.TEST_KAFKA_BROKERS ??= process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
process.env.TEST_POSTGRES_URL ??= process.env.POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

const say = (msg: string) => console.log(`[bench] ${msg}`);
const PASSWORD = "bench-password-0123456789";

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

/** One charger: a websocket speaking OCPP-J frames, with its pending calls. */
class Charger {
  ws: WebSocket | null = null;
  private seq = 0;
  private readonly pending = new Map<string, { resolve: (v: unknown[]) => void; at: number }>();
  constructor(
    readonly id: string,
    private readonly url: string,
  ) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.url}/${this.id}`, ["ocpp1.6"], {
        headers: { authorization: `Basic ${Buffer.from(`${this.id}:${PASSWORD}`).toString("base64")}` },
      });
      this.ws = ws;
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
      ws.on("message", (data) => {
        const frame = JSON.parse(data.toString()) as unknown[];
        const waiting = this.pending.get(frame[1] as string);
        if (waiting) {
          this.pending.delete(frame[1] as string);
          waiting.resolve(frame);
        }
      });
    });
  }

  /** Sends a call; resolves with [answer frame, latency ms]. */
  call(action: string, params: unknown): Promise<[unknown[], number]> {
    const id = `${++this.seq}`;
    const at = performance.now();
    return new Promise((resolve) => {
      this.pending.set(id, { resolve: (frame) => resolve([frame, performance.now() - at]), at });
      this.ws!.send(JSON.stringify([2, id, action, params]));
    });
  }

  drop() {
    this.ws?.terminate();
    this.pending.clear();
  }
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function bootAll(chargers: Charger[], concurrency: number): Promise<{ ms: number; failed: number }> {
  const started = performance.now();
  let failed = 0;
  await inBatches(chargers, concurrency, async (c) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await c.connect();
        const [answer] = await c.call("BootNotification", {
          chargePointVendor: "Bench",
          chargePointModel: "B1",
        });
        if ((answer[2] as { status?: string })?.status !== "Accepted") failed++;
        return;
      } catch {
        if (attempt >= 5) {
          failed++;
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
  });
  return { ms: performance.now() - started, failed };
}

async function main() {
  say(
    `${N} chargers (OCPP 1.6J, Basic auth), load ${LOAD_S} s: heartbeat every ${HEARTBEAT_S} s, meter values every ${METER_S} s`,
  );
  const [database, kafka] = await Promise.all([
    createTestDatabase({ cwd: serviceDir }),
    createTestKafka({ topics: topicsOf(ocpp).map((t) => t.name) }),
  ]);
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  const hash = await hashPassword(PASSWORD);
  const ids = Array.from({ length: N }, (_, i) => `dev-bench-${String(i).padStart(6, "0")}`);
  await pool.query(
    `INSERT INTO charger_device (id, org_id, site_id, type, name, state) SELECT id, 'org-bench', 'sit-bench', 'ev_charger', id, 'active' FROM unnest($1::text[]) AS id`,
    [ids],
  );
  await pool.query(
    `INSERT INTO port_der (id, device_id, org_id, name, rated_power_w) SELECT 'der-' || id, id, 'org-bench', 'ev-port-1', 11000 FROM unnest($1::text[]) AS id`,
    [ids],
  );
  await pool.query(
    `INSERT INTO charger_credential (charge_point_id, password_hash, set_by, updated_at) SELECT id, $2, 'bench', now() FROM unnest($1::text[]) AS id`,
    [ids, hash],
  );
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  // the real server.ts, resolved once /readyz answers (database and Kafka reachable)
  const service = await spawnService(serviceDir, {
    DATABASE_URL: database.url,
    KAFKA_BROKERS: process.env.TEST_KAFKA_BROKERS!,
    KAFKA_TOPIC_PREFIX: kafka.topicPrefix,
    JWT_PUBLIC_KEY: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    LOG_LEVEL: "warn",
    INSTANCE_ID: `bench-${randomBytes(3).toString("hex")}`,
    HEARTBEAT_INTERVAL_SECONDS: String(HEARTBEAT_S),
  });
  const child = service.child;
  const url = `${service.url.replace(/^http/, "ws")}/ocpp`;
  await new Promise((r) => setTimeout(r, 2_000));
  const idleRss = rssKiB(child.pid!);
  say(`service up (pid ${child.pid}), RSS ${(idleRss / 1024).toFixed(1)} MiB with no chargers`);

  // 1. connect and boot
  const chargers = ids.map((id) => new Charger(id, url));
  const first = await bootAll(chargers, CONCURRENCY);
  await new Promise((r) => setTimeout(r, 3_000));
  const heldRss = rssKiB(child.pid!);
  say(
    `connected and booted ${N - first.failed}/${N} in ${(first.ms / 1000).toFixed(1)} s (first connections pay scrypt); ` +
      `RSS ${(heldRss / 1024).toFixed(1)} MiB: ${((heldRss - idleRss) / N).toFixed(1)} KiB per connection`,
  );

  // 2. load
  const latency: Record<string, number[]> = { Heartbeat: [], MeterValues: [] };
  let register = 1_000_000;
  const until = performance.now() + LOAD_S * 1000;
  const timers: NodeJS.Timeout[] = [];
  for (const c of chargers) {
    const meter = () => {
      register += 10;
      void c
        .call("MeterValues", {
          connectorId: 1,
          meterValue: [
            {
              timestamp: new Date().toISOString(),
              sampledValue: [
                { value: String(register), measurand: "Energy.Active.Import.Register", unit: "Wh" },
                { value: "7400", measurand: "Power.Active.Import", unit: "W" },
              ],
            },
          ],
        })
        .then(([, ms]) => latency.MeterValues!.push(ms));
    };
    const beat = () => void c.call("Heartbeat", {}).then(([, ms]) => latency.Heartbeat!.push(ms));
    timers.push(
      setTimeout(
        () => {
          meter();
          timers.push(setInterval(meter, METER_S * 1000));
        },
        Math.random() * METER_S * 1000,
      ),
      setTimeout(
        () => {
          beat();
          timers.push(setInterval(beat, HEARTBEAT_S * 1000));
        },
        Math.random() * HEARTBEAT_S * 1000,
      ),
    );
  }
  while (performance.now() < until) await new Promise((r) => setTimeout(r, 500));
  for (const t of timers) clearTimeout(t);
  await new Promise((r) => setTimeout(r, 2_000));
  const loadRss = rssKiB(child.pid!);
  for (const [action, samples] of Object.entries(latency)) {
    const sorted = samples.toSorted((a, b) => a - b);
    say(
      `${action}: ${sorted.length} calls (${(sorted.length / LOAD_S).toFixed(0)}/s), p50 ${fmt(percentile(sorted, 0.5))}, ` +
        `p99 ${fmt(percentile(sorted, 0.99))}, max ${fmt(sorted.at(-1) ?? 0)}`,
    );
  }
  say(
    `RSS under load ${(loadRss / 1024).toFixed(1)} MiB (${((loadRss - idleRss) / N).toFixed(1)} KiB per charger)`,
  );

  // 3. boot storm
  for (const c of chargers) c.drop();
  await new Promise((r) => setTimeout(r, 1_000));
  const storm = await bootAll(chargers, N);
  say(
    `boot storm: ${N - storm.failed}/${N} reconnected and Accepted in ${(storm.ms / 1000).toFixed(1)} s ` +
      "(all at once)",
  );

  for (const c of chargers) c.drop();
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  await pool.end();
  await database.drop();
}

await main();
process.exit(0);
