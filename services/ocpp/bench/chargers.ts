/**
 * Chargers held by one ocpp process, and what they cost. Prints its figures; not a test.
 *
 *   cd services/ocpp && KAFKA_BROKERS=127.0.0.1:9092 node --import tsx bench/chargers.ts \
 *     [--chargers 2000] [--load 30] [--meter-interval 10] [--heartbeat 60] [--concurrency 10] \
 *     [--no-peer] [--real-scrypt] [--cpu-prof DIR] [--heap-snapshot DIR] [--service-node-options "FLAGS"] [--cold-restart]
 *
 * Three processes: this one (the database, the topics, the figures), the service (the real src/server.ts,
 * on its own database and topic prefix, on the broker and PostgreSQL named by KAFKA_BROKERS /
 * POSTGRES_URL), and the fleet (bench/fleet.ts: N 1.6J chargers on bare `ws` sockets, Basic auth, one
 * connector), so the service's RSS and CPU are its own. Phases:
 *  0. the peer baseline (bench/peer-server.ts: a bare ocpp-rpc RPCServer in strict mode): the same fleet
 *     connects and boots; its RSS per connection;
 *  1. the service: connect and boot every charger (RSS before and after: KiB per connection; the ratio to
 *     the peer's);
 *  2. load: each charger heartbeats every --heartbeat and sends MeterValues every --meter-interval (random
 *     phase) for --load seconds; p50/p99 latency of each call, and the service's CPU;
 *  3. boot storm: every socket dropped at once, every charger reconnects and boots at once: time until all
 *     are Accepted;
 *  4. with --cold-restart, the same storm on a restarted service (no password remembered: each pays scrypt).
 * --cpu-prof writes the service's CPU profile into DIR at its exit; --heap-snapshot writes a heap snapshot
 * of the service into DIR once every charger is connected.
 */
import { type ChildProcess, fork } from "node:child_process";
import { generateKeyPairSync, randomBytes, scrypt } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { spawnService, topicsOf } from "@energy/service-kit/testing";
import { createTestDatabase, createTestKafka, waitFor } from "@energy/testing";
import pg from "pg";
import { hashPassword, verifyPassword } from "../src/domain/password.ts";
import { ocpp } from "../src/service.ts";

const benchDir = dirname(fileURLToPath(import.meta.url));
const serviceDir = join(benchDir, "..");
const { values } = parseArgs({
  options: {
    chargers: { type: "string", default: "2000" },
    load: { type: "string", default: "30" },
    "meter-interval": { type: "string", default: "10" },
    heartbeat: { type: "string", default: "60" },
    concurrency: { type: "string", default: "10" },
    "no-peer": { type: "boolean", default: false },
    "real-scrypt": { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
    "heap-snapshot": { type: "string" },
    "service-node-options": { type: "string", default: "" },
    "cold-restart": { type: "boolean", default: false },
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/**
 * The machine's CPU pressure (PSI): µs during which at least one runnable task waited for a CPU, since boot
 * (0 where /proc/pressure is missing). Over an interval, its share of the wall time says how contended the
 * cores were: every process here (service, fleet, PostgreSQL, Kafka, anything else) waits for them.
 */
function cpuPressureUs(): number {
  try {
    return Number(/^some .*total=(\d+)/m.exec(readFileSync("/proc/pressure/cpu", "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The service's JS heap in use and its external memory (buffers, wasm), from its /metrics, in KiB. */
async function heapKiB(url: string): Promise<{ heap: number; external: number }> {
  const gauge = await gauges(url);
  return {
    heap: gauge("nodejs_heap_size_used_bytes") / 1024,
    external: gauge("nodejs_external_memory_bytes") / 1024,
  };
}

/** A gauge of the service's /metrics (prom-client's default metrics). */
async function gauges(url: string): Promise<(name: string, labels?: Record<string, string>) => number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return (name, labels = {}) => {
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)`, "gm"))) {
      const have = (m[1] ?? "").split(",");
      if (wanted.every((w) => have.includes(w))) return Number(m[2]);
    }
    return 0;
  };
}

/** CPU seconds of a process that may have ended (a pooled PostgreSQL backend). */
function cpuSecondsOr0(pid: number): number {
  try {
    return cpuSeconds(pid);
  } catch {
    return 0;
  }
}

/** The pids of the PostgreSQL backends connected to the bench's database (the server is on this machine). */
async function databaseBackends(pool: pg.Pool, url: string): Promise<number[]> {
  const name = new URL(url).pathname.slice(1);
  const { rows } = await pool.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    [name],
  );
  return rows.map((r) => r.pid);
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

/** Sends the fleet a request and resolves with its answer (one request at a time). */
function ask<T>(fleet: ChildProcess, request: object): Promise<T> {
  return new Promise((resolve) => {
    fleet.once("message", (answer) => resolve(answer as T));
    fleet.send(request);
  });
}

type BootAnswer = { ms: number; failed: number; errors: Record<string, number> };
type LoadAnswer = {
  latency: Record<string, number[]>;
  lost: number;
  callErrors: number;
  unanswered: number;
  /** the fleet's own event-loop delay during the load, ms */
  fleetLoop: { p50: number; p99: number; max: number; utilization: number };
};

const bootLine = (a: BootAnswer) =>
  `${N - a.failed}/${N} in ${(a.ms / 1000).toFixed(1)} s` +
  (Object.keys(a.errors).length > 0 ? ` (retried or failed: ${JSON.stringify(a.errors)})` : "");

/**
 * Connects and boots every charger in two halves, RSS after each: the first half carries what any
 * server grows by once under load (heap spaces, allocator arenas), the second half only what each
 * further connection costs (the marginal figure).
 */
async function bootInHalves(fleet: ChildProcess, url: string, ids: string[], pid: number) {
  const half = Math.floor(ids.length / 2);
  const boot = (from: number, to: number) =>
    ask<BootAnswer>(fleet, { op: "boot", url, ids, from, to, password: PASSWORD, concurrency: CONCURRENCY });
  const a = await boot(0, half);
  await sleep(3_000);
  const halfRss = rssKiB(pid);
  const b = await boot(half, ids.length);
  await sleep(3_000);
  const fullRss = rssKiB(pid);
  const errors = { ...a.errors };
  for (const [k, v] of Object.entries(b.errors)) errors[k] = (errors[k] ?? 0) + v;
  return {
    boot: { ms: a.ms + b.ms, failed: a.failed + b.failed, errors },
    fullRss,
    marginal: (fullRss - halfRss) / (ids.length - half),
  };
}

async function peerBaseline(
  fleet: ChildProcess,
  ids: string[],
): Promise<{ perConnection: number; marginal: number }> {
  const peer = fork(join(benchDir, "peer-server.ts"), [], {
    execArgv: ["--import", "tsx"],
    stdio: "inherit",
  });
  const { port } = await new Promise<{ port: number }>((r) => peer.once("message", (m) => r(m as never)));
  await sleep(1_000);
  const idle = rssKiB(peer.pid!);
  const {
    boot,
    fullRss: held,
    marginal,
  } = await bootInHalves(fleet, `ws://127.0.0.1:${port}/ocpp`, ids, peer.pid!);
  const perConnection = (held - idle) / N;
  say(
    `peer baseline (bare ocpp-rpc RPCServer, strict mode): connected and booted ${bootLine(boot)}; ` +
      `RSS ${mib(idle)} idle → ${mib(held)}: ${perConnection.toFixed(1)} KiB per connection ` +
      `(the second half: ${marginal.toFixed(1)} KiB each)`,
  );
  await ask(fleet, { op: "drop" });
  peer.kill("SIGKILL");
  await new Promise((r) => peer.once("exit", r));
  return { perConnection, marginal };
}

async function main() {
  say(
    `${N} chargers (OCPP 1.6J, Basic auth), load ${LOAD_S} s: heartbeat every ${HEARTBEAT_S} s, meter values every ${METER_S} s; ` +
      `first connections ${CONCURRENCY} at a time`,
  );
  const fleet = fork(join(benchDir, "fleet.ts"), [], { execArgv: ["--import", "tsx"], stdio: "inherit" });
  const ids = Array.from({ length: N }, (_, i) => `dev-bench-${String(i).padStart(6, "0")}`);
  const peer = values["no-peer"] ? null : await peerBaseline(fleet, ids);

  const [database, kafka] = await Promise.all([
    createTestDatabase({ cwd: serviceDir }),
    createTestKafka({ topics: topicsOf(ocpp).map((t) => t.name) }),
  ]);
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  // The service's own cost (N=2^14) for every charger with --real-scrypt; otherwise the bench's passwords
  // are stored with N=2^10 (the parameters travel with the hash), so that 10,000 first connections do not
  // take minutes of scrypt: the cost of one real verification is measured and printed instead.
  const realHash = await hashPassword(PASSWORD);
  const hash = values["real-scrypt"] ? realHash : await cheapHash(PASSWORD);
  const verifyStarted = performance.now();
  for (let i = 0; i < 10; i++) await verifyPassword(PASSWORD, realHash);
  const verifyMs = (performance.now() - verifyStarted) / 10;
  say(
    `one password check at the service's cost (scrypt N=2^14): ${verifyMs.toFixed(1)} ms; ` +
      (values["real-scrypt"]
        ? "every charger's password is stored at that cost"
        : `the bench stores its chargers' at N=2^10 (--real-scrypt for the real cost: ${N} first connections ≈ ${((N * verifyMs) / 1000).toFixed(0)} s of one core)`),
  );
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
  // the service's own node flags (GC experiments: --max-semi-space-size, --trace-gc), not the fleet's
  const nodeOptions = [process.env.NODE_OPTIONS ?? "", values["service-node-options"]];
  if (values["cpu-prof"]) nodeOptions.push(`--cpu-prof --cpu-prof-dir=${resolve(values["cpu-prof"])}`);
  if (values["heap-snapshot"]) nodeOptions.push("--heapsnapshot-signal=SIGUSR2");
  // the real server.ts, resolved once /readyz answers (database and Kafka reachable)
  const serviceEnv = {
    DATABASE_URL: database.url,
    KAFKA_BROKERS: process.env.TEST_KAFKA_BROKERS!,
    KAFKA_TOPIC_PREFIX: kafka.topicPrefix,
    JWT_PUBLIC_KEY: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    LOG_LEVEL: "warn",
    INSTANCE_ID: `bench-${randomBytes(3).toString("hex")}`,
    HEARTBEAT_INTERVAL_SECONDS: String(HEARTBEAT_S),
    NODE_OPTIONS: nodeOptions.join(" ").trim(),
  };
  const service = await spawnService(serviceDir, serviceEnv);
  let child = service.child;
  const url = `${service.url.replace(/^http/, "ws")}/ocpp`;
  await sleep(2_000);
  const idleRss = rssKiB(child.pid!);
  const idleHeap = await heapKiB(service.url);
  say(
    `service up (pid ${child.pid}), RSS ${mib(idleRss)} with no chargers (JS heap ${mib(idleHeap.heap)}, external ${mib(idleHeap.external)})`,
  );

  // 1. connect and boot
  const { boot: first, fullRss: heldRss, marginal } = await bootInHalves(fleet, url, ids, child.pid!);
  const heldHeap = await heapKiB(service.url);
  const perConnection = (heldRss - idleRss) / N;
  say(
    `connected and booted ${bootLine(first)} (first connections pay scrypt); ` +
      `RSS ${mib(heldRss)}: ${perConnection.toFixed(1)} KiB per connection` +
      (peer === null
        ? ""
        : ` (peer ${peer.perConnection.toFixed(1)} KiB: ${(perConnection / peer.perConnection).toFixed(2)}×)`) +
      `, the second half ${marginal.toFixed(1)} KiB each` +
      (peer === null
        ? ""
        : ` (peer ${peer.marginal.toFixed(1)} KiB: ${(marginal / peer.marginal).toFixed(2)}×)`) +
      `; JS heap ${mib(heldHeap.heap)} (${((heldHeap.heap - idleHeap.heap) / N).toFixed(1)} KiB per connection), ` +
      `external ${mib(heldHeap.external)}`,
  );
  if (values["heap-snapshot"]) {
    const before = new Set(readdirSafe(serviceDir));
    child.kill("SIGUSR2");
    await waitFor(
      "the heap snapshot",
      () => readdirSafe(serviceDir).some((f) => f.endsWith(".heapsnapshot") && !before.has(f)),
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    say(`heap snapshot written in ${serviceDir}`);
  }

  // 2. load (reading /metrics restarts prom-client's event loop delay histogram)
  const before = await gauges(service.url);
  const backends = await databaseBackends(pool, database.url);
  const pgCpuBefore = backends.reduce((sum, pid) => sum + cpuSecondsOr0(pid), 0);
  const cpuBefore = cpuSeconds(child.pid!);
  const fleetCpuBefore = cpuSeconds(fleet.pid!);
  const pressureBefore = cpuPressureUs();
  const loadAvgBefore = loadavg()[0]!;
  const loadStarted = performance.now();
  const load = await ask<LoadAnswer>(fleet, {
    op: "load",
    seconds: LOAD_S,
    meterS: METER_S,
    heartbeatS: HEARTBEAT_S,
  });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const lag = await gauges(service.url);
  const pgCpu = (backends.reduce((sum, pid) => sum + cpuSecondsOr0(pid), 0) - pgCpuBefore) / loadSeconds;
  const cpu = (cpuSeconds(child.pid!) - cpuBefore) / loadSeconds;
  const fleetCpu = (cpuSeconds(fleet.pid!) - fleetCpuBefore) / loadSeconds;
  const pressure = (cpuPressureUs() - pressureBefore) / 1e6 / loadSeconds;
  const loadAvgAfter = loadavg()[0]!;
  await sleep(2_000);
  const loadRss = rssKiB(child.pid!);
  for (const [action, samples] of Object.entries(load.latency)) {
    const sorted = samples.toSorted((a, b) => a - b);
    say(
      `${action}: ${sorted.length} calls (${(sorted.length / LOAD_S).toFixed(0)}/s), p50 ${fmt(percentile(sorted, 0.5))}, ` +
        `p99 ${fmt(percentile(sorted, 0.99))}, max ${fmt(sorted.at(-1) ?? 0)}`,
    );
  }
  say(
    `under load: service CPU ${(cpu * 100).toFixed(0)}% of a core, its ${backends.length} PostgreSQL backends ${(pgCpu * 100).toFixed(0)}%, ` +
      `fleet ${(fleetCpu * 100).toFixed(0)}%; the machine: load average ${loadAvgBefore.toFixed(1)} → ${loadAvgAfter.toFixed(1)}, ` +
      `some task waiting for a CPU ${(pressure * 100).toFixed(0)}% of the time (PSI); ` +
      `event loop delay p50 ${fmt(lag("nodejs_eventloop_lag_p50_seconds") * 1000)}, p99 ${fmt(lag("nodejs_eventloop_lag_p99_seconds") * 1000)}, ` +
      `max ${fmt(lag("nodejs_eventloop_lag_max_seconds") * 1000)}; ` +
      `CALLERRORs ${load.callErrors}, unanswered ${load.unanswered}, not sent (socket gone) ${load.lost}; ` +
      `RSS ${mib(loadRss)} (${((loadRss - idleRss) / N).toFixed(1)} KiB per charger)`,
  );
  // where the time went: inside the service (handler entry to answer), in its group commits, and the
  // fleet's own event-loop delay (what the fleet measures includes it, and the sockets both ways)
  const q = (name: string, label: Record<string, string>) =>
    ["0.5", "0.99", "max"].map((quantile) => lag(name, { ...label, quantile }).toFixed(1)).join(" / ");
  say(
    `inside the service (p50 / p99 / max, ms): batched calls ${q("ocpp_call_ms", { path: "batched" })}, ` +
      `calls with their own transaction ${q("ocpp_call_ms", { path: "alone" })}, ` +
      `from the frame's arrival to the answer's send ${q("ocpp_call_ms", { path: "frame" })}; group commit of calls: ` +
      `wait for a batch ${q("ocpp_group_commit_wait_ms", { commit: "calls" })}, write ${q("ocpp_group_commit_write_ms", { commit: "calls" })}, ` +
      `batch size ${q("ocpp_group_commit_batch_size", { commit: "calls" })}, ` +
      `batches with MeterValues in one statement ${lag("ocpp_batch_statements", { statements: "one" })}, in two ${lag("ocpp_batch_statements", { statements: "two" })}; ` +
      `the fleet's event-loop delay ${fmt(load.fleetLoop.p50)} / ${fmt(load.fleetLoop.p99)} / ${fmt(load.fleetLoop.max)}; ` +
      `main thread busy: the service's ${(lag("ocpp_event_loop_utilization") * 100).toFixed(0)}%, the fleet's ${(load.fleetLoop.utilization * 100).toFixed(0)}%`,
  );
  // the service's garbage collections during the load (prom-client's nodejs_gc_duration_seconds, by kind)
  const gc = ["minor", "major", "incremental"].map((kind) => {
    const n =
      lag("nodejs_gc_duration_seconds_count", { kind }) -
      before("nodejs_gc_duration_seconds_count", { kind });
    const s =
      lag("nodejs_gc_duration_seconds_sum", { kind }) - before("nodejs_gc_duration_seconds_sum", { kind });
    return `${kind} ${n} (${(s * 1000).toFixed(0)} ms)`;
  });
  say(`garbage collections of the service under load: ${gc.join(", ")} in ${loadSeconds.toFixed(0)} s`);

  // 3. boot storm
  await ask(fleet, { op: "drop" });
  await sleep(1_000);
  const storm = await ask<BootAnswer>(fleet, {
    op: "boot",
    url,
    ids,
    password: PASSWORD,
    concurrency: N,
  });
  say(`boot storm: reconnected and Accepted ${bootLine(storm)} (all at once)`);

  // 4. a cold restart: a new process remembers no verified password, so every charger's first
  // reconnection pays its scrypt check again, all at once
  if (values["cold-restart"]) {
    await ask(fleet, { op: "drop" });
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    const restarted = await spawnService(serviceDir, serviceEnv);
    child = restarted.child;
    await sleep(1_000);
    const cpuBeforeCold = cpuSeconds(child.pid!);
    const cold = await ask<BootAnswer>(fleet, {
      op: "boot",
      url: `${restarted.url.replace(/^http/, "ws")}/ocpp`,
      ids,
      password: PASSWORD,
      concurrency: N,
    });
    const coldCpu = cpuSeconds(child.pid!) - cpuBeforeCold;
    const storedCost = values["real-scrypt"] ? "N=2^14, the service's" : "N=2^10, the bench's";
    say(
      `cold restart storm (a new process, every password checked again, scrypt ${storedCost}): ` +
        `reconnected and Accepted ${bootLine(cold)}, service CPU ${coldCpu.toFixed(1)} s ` +
        `(the main thread's; scrypt runs on libuv's pool)` +
        (values["real-scrypt"]
          ? ""
          : `; at the service's cost it is ${N} × ${verifyMs.toFixed(0)} ms ≈ ${((N * verifyMs) / 1000).toFixed(0)} s of scrypt on one core`),
    );
  }

  await ask(fleet, { op: "drop" });
  fleet.kill("SIGKILL");
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  await pool.end();
  await database.drop();
}

/** A password hash in the service's format at scrypt N=2^10 (bench/chargers.ts only). */
function cheapHash(password: string): Promise<string> {
  const salt = randomBytes(16);
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, { N: 1024, r: 8, p: 1 }, (err, key) =>
      err
        ? reject(err)
        : resolve(["scrypt", 1024, 8, 1, salt.toString("base64"), key.toString("base64")].join("$")),
    ),
  );
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

await main();
process.exit(0);
