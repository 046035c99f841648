/**
 * meter-read benchmarks, with the service as a child process (`node --max-semi-space-size=32 --import tsx
 * src/server.ts`, as `pnpm start` runs it) on a database and topics of its own, the broker and database on this machine:
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 node --import tsx bench/throughput.ts [--devices 1000] [--reads 1000000]
 *       [--batch 10000] [--concurrency 2] [--queries 200] [--keep-database]   (CPU_PROF_DIR=dir profiles the service)
 *
 * 1. Ingest: `reads` hourly history reads across `devices` devices, POSTed in batches of `batch` reads (each
 *    batch = batch/ (reads/devices) devices), `concurrency` requests in flight; end to end = first request
 *    until every read is stored (all answers in) and published (counted on meter-read.read.v1).
 *    Baseline in the same run: the same rows with psql's \copy (COPY FROM STDIN) into a table of the same
 *    shape (16 hash partitions, the same two indexes), no checks, no events.
 * 2. Query: one device with three years of hourly reads (26,280, sent through the API); GET
 *    …/energy?period=month in Europe/Stockholm `queries` times, one at a time: p50/p99.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { topics } from "@energy/contracts";
import { createDatabase, databaseUrl, dropDatabase, migrate } from "@energy/infra/postgres";
import { ensureTopics } from "@energy/infra/topics";
import { createKafka } from "@energy/kafka";
import jwt from "jsonwebtoken";
import pg from "pg";

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const TOPICS = [
  topics.meterReadRead,
  topics.registryOrganization,
  topics.registryMembership,
  topics.registrySite,
  topics.registryDevice,
  topics.ingestionInterval,
].map((topic) => topic.name);
const HOUR = 3_600_000;

function option(name: string, fallback: number): number {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  const value = Number(i >= 0 ? args[i + 1] : fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}
const DEVICES = option("devices", 1000);
const READS = option("reads", 1_000_000);
const BATCH = option("batch", 10_000);
const CONCURRENCY = option("concurrency", 2);
const QUERIES = option("queries", 200);
const keepDatabase = process.argv.includes("--keep-database");
const perDevice = Math.floor(READS / DEVICES);
if (BATCH % perDevice !== 0) throw new Error("--batch must be a multiple of reads per device");

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
const cpuSeconds = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// ---- set-up -------------------------------------------------------------------------------------------

const serverUrl = process.env.POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const database = "energy_meter_read_bench";
const topicPrefix = `bench${randomBytes(3).toString("hex")}.`;
await dropDatabase(serverUrl, database);
await createDatabase(serverUrl, database);
const url = databaseUrl(serverUrl, database);
migrate("meter-read", url);
await ensureTopics({ brokers, prefix: topicPrefix, only: TOPICS });
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const token = jwt.sign({ typ: "user" }, keys.privateKey, {
  algorithm: "ES256",
  subject: "usr-bench",
  issuer: "energy-registry",
  audience: "energy-platform",
  expiresIn: "2h",
});

const deviceIds = Array.from({ length: DEVICES }, (_, i) => `dev-bench-${String(i).padStart(5, "0")}`);
const db = new pg.Pool({ connectionString: url, max: 2 });
await db.query(
  "INSERT INTO site (id, org_id, timezone) VALUES ('sit-bench', 'org-bench', 'Europe/Stockholm')",
);
await db.query(
  "INSERT INTO membership (org_id, identity_id, role) VALUES ('org-bench', 'usr-bench', 'owner')",
);
await db.query(
  `INSERT INTO device (id, org_id, site_id, capacity_w, commissioning_date, onboarded_at, state)
   SELECT id, 'org-bench', 'sit-bench', 10000, '2020-01-01', '2020-01-01T00:00:00Z', 'active' FROM unnest($1::text[]) AS id`,
  [[...deviceIds, "dev-bench-query"]],
);
await db.query(
  `INSERT INTO device_capacity (device_id, from_at, capacity_w)
   SELECT id, '2020-01-01T00:00:00Z', 10000 FROM unnest($1::text[]) AS id`,
  [[...deviceIds, "dev-bench-query"]],
);

// ---- the service --------------------------------------------------------------------------------------

const port = await freePort();
const SERVICE_NODE_FLAGS = ["--max-semi-space-size=32"];
// CPU_PROF_DIR=dir: the service writes a V8 CPU profile there when it stops.
const profile = process.env.CPU_PROF_DIR ? ["--cpu-prof", "--cpu-prof-dir", process.env.CPU_PROF_DIR] : [];
// As `pnpm start` runs it: a 32 MB young generation (V8's default 16 MB collected ~3× as often under 10,000
// reads per request, a sixth of the service's CPU).
const child: ChildProcess = spawn(
  process.execPath,
  [...profile, ...SERVICE_NODE_FLAGS, "--import", "tsx", "src/server.ts"],
  {
    cwd: serviceDir,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATABASE_URL: url,
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_PREFIX: topicPrefix,
      JWT_PUBLIC_KEY: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    },
    stdio: ["ignore", "inherit", "inherit"],
  },
);
const base = `http://127.0.0.1:${port}`;
for (const deadline = Date.now() + 120_000; ; ) {
  if (Date.now() > deadline) throw new Error("the service was not ready within 120 s");
  try {
    if ((await fetch(`${base}/readyz`)).ok) break;
  } catch {}
  await sleep(250);
}

// Counts the reads published, from the start of the topic.
const kafka = createKafka({ brokers, clientId: "meter-read-bench" });
const consumer = kafka.consumer({ groupId: `${topicPrefix}bench-reader`, maxWaitTimeInMs: 100 });
await consumer.connect();
await consumer.subscribe({ topic: `${topicPrefix}${topics.meterReadRead.name}`, fromBeginning: true });
let published = 0;
let messages = 0;
let maxMessageBytes = 0;
// A message the relay published twice (at least once: it died between sending and marking) is counted once.
const seen = new Set<string>();
const READ_ID = Buffer.from('"readId":');
await consumer.run({
  eachMessage: async ({ message }) => {
    const envelopeId = (JSON.parse(String(message.headers?.envelope)) as { id: string }).id;
    if (seen.has(envelopeId)) return;
    seen.add(envelopeId);
    const value = message.value!;
    maxMessageBytes = Math.max(maxMessageBytes, value.length);
    messages++;
    // Counted by their readId keys in the bytes, not decoded or parsed: on this shared machine the bench's own
    // decoding of ~350 MB would take CPU from the service it measures (the tests hold the messages to the
    // contract).
    for (let at = value.indexOf(READ_ID); at >= 0; at = value.indexOf(READ_ID, at + READ_ID.length))
      published++;
  },
});
await sleep(3000); // the reader joins its group before the clock starts

// ---- 1. ingest ----------------------------------------------------------------------------------------

const t0 = Date.UTC(2026, 0, 1);
const whOf = (d: number, h: number) => ((d * 7919 + h * 104_729) % 1400) + 1;
const devicesPerBatch = BATCH / perDevice;
const batches: string[] = [];
for (let b = 0; b < DEVICES / devicesPerBatch; b++) {
  const reads: Array<{ deviceId: string; starttimestamp: string; endtimestamp: string; value: number }> = [];
  for (let d = b * devicesPerBatch; d < (b + 1) * devicesPerBatch; d++) {
    for (let h = 0; h < perDevice; h++) {
      reads.push({
        deviceId: deviceIds[d]!,
        starttimestamp: new Date(t0 + h * HOUR).toISOString(),
        endtimestamp: new Date(t0 + (h + 1) * HOUR).toISOString(),
        value: whOf(d, h),
      });
    }
  }
  batches.push(JSON.stringify({ type: "history", unit: "Wh", reads }));
}
console.log(
  `ingest: ${fmt(READS)} reads, ${DEVICES} devices × ${perDevice}, ${batches.length} POSTs of ${fmt(BATCH)} ` +
    `(${(batches[0]!.length / 1e6).toFixed(1)} MB each), ${CONCURRENCY} in flight; ${cpus().length} CPUs`,
);

const post = async (body: string, retried = false): Promise<{ stored: number; refused: number }> => {
  let res: Response;
  try {
    res = await fetch(`${base}/organizations/org-bench/reads`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body,
    });
  } catch (error) {
    // A kept-alive connection the server closed while idle (the COPY takes a while): send once more.
    if (retried) throw error;
    return post(body, true);
  }
  if (!res.ok) throw new Error(`POST answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  // The answer's counts come first ({"stored":…,"duplicates":…,"refused":…,"results":[…10,000…]}): read
  // from its head, so the bench does not decode and parse ~2.3 MB of results per request on the cores the
  // service is measured on (the tests check the results read by read).
  const bytes = Buffer.from(await res.arrayBuffer());
  const head = /^\{"stored":(\d+),"duplicates":(\d+),"refused":(\d+),"results":\[/.exec(
    bytes.toString("latin1", 0, 120),
  );
  if (!head) throw new Error(`POST answered an unexpected body: ${bytes.toString("utf8", 0, 500)}`);
  return { stored: Number(head[1]), refused: Number(head[3]) };
};

// CPU of the database's backends serving the bench database (the service's pool and this script's).
const backends = async () =>
  (
    await db.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [database])
  ).rows.map((r) => r.pid);
const dbCpu0 = new Map((await backends()).map((pid) => [pid, cpuSeconds(pid)]));
const cpu0 = cpuSeconds(child.pid!);
// The bench shares the machine with the service: its own CPU (sending, reading answers, counting the
// published reads) and the load averages are printed, so a figure from a busy machine reads as such.
const benchCpu0 = process.cpuUsage();
const load0 = loadavg()[0]!;
const started = performance.now();
let next = 0;
let stored = 0;
let refused = 0;
const latencies: number[] = [];
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < batches.length) {
      const body = batches[next++]!;
      const t = performance.now();
      const answer = await post(body);
      latencies.push(performance.now() - t);
      stored += answer.stored;
      refused += answer.refused;
    }
  }),
);
const answeredMs = performance.now() - started;
while (published < stored) {
  if (performance.now() - started > 600_000)
    throw new Error(`only ${published} of ${stored} reads published`);
  await sleep(20);
}
const endToEndMs = performance.now() - started;
const serviceCpu = cpuSeconds(child.pid!) - cpu0;
const benchCpuUsage = process.cpuUsage(benchCpu0);
const benchCpu = (benchCpuUsage.user + benchCpuUsage.system) / 1e6;
const load1 = loadavg()[0]!;
// Only a run that stored every read measured what the goal names.
if (stored !== READS || refused !== 0)
  throw new Error(`stored ${stored} and refused ${refused} of ${READS} reads: not a measurement of the goal`);
let databaseCpu = 0;
for (const pid of await backends()) databaseCpu += cpuSeconds(pid) - (dbCpu0.get(pid) ?? 0);
latencies.sort((a, b) => a - b);
console.log(
  `  stored ${fmt(stored)}, refused ${fmt(refused)}; all answered in ${(answeredMs / 1000).toFixed(1)} s ` +
    `(${fmt(stored / (answeredMs / 1000))} reads/s; POST p50 ${fmt(percentile(latencies, 0.5))} ms, ` +
    `p99 ${fmt(percentile(latencies, 0.99))} ms)`,
);
console.log(
  `  published ${fmt(published)} reads in ${fmt(messages)} messages (largest ${fmt(maxMessageBytes)} bytes); ` +
    `end to end ${(endToEndMs / 1000).toFixed(1)} s = ${fmt(stored / (endToEndMs / 1000))} reads/s ` +
    `(goal: under 30 s); service CPU ${serviceCpu.toFixed(1)} s (${((serviceCpu / READS) * 1e6).toFixed(1)} µs/read), ` +
    `database CPU ${databaseCpu.toFixed(1)} s; this bench's own CPU ${benchCpu.toFixed(1)} s; ` +
    `load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end (${cpus().length} CPUs)`,
);

// Baseline: the same rows with COPY into a table of the same shape.
const csvFile = join(tmpdir(), `meter-read-bench-${process.pid}.csv`);
{
  const lines: string[] = [];
  for (let d = 0; d < DEVICES; d++) {
    for (let h = 0; h < perDevice; h++) {
      const v = whOf(d, h);
      lines.push(
        `${deviceIds[d]},${new Date(t0 + (h + 1) * HOUR).toISOString()},1,mrd-${d}-${h},org-bench,history,api,` +
          `${new Date(t0 + h * HOUR).toISOString()},${v},${v},t,{},${"a".repeat(64)},2026-12-01T00:00:00Z`,
      );
    }
  }
  writeFileSync(csvFile, `${lines.join("\n")}\n`);
}
await db.query("CREATE TABLE copy_read (LIKE meter_read INCLUDING DEFAULTS) PARTITION BY HASH (device_id)");
for (let i = 0; i < 16; i++) {
  await db.query(
    `CREATE TABLE copy_read_p${i} PARTITION OF copy_read FOR VALUES WITH (MODULUS 16, REMAINDER ${i})`,
  );
}
await db.query("ALTER TABLE copy_read ADD PRIMARY KEY (device_id, end_at)");
await db.query("CREATE INDEX ON copy_read (device_id, start_at, energy_wh)");
const copyStarted = performance.now();
execFileSync(
  "psql",
  [
    url,
    "-v",
    "ON_ERROR_STOP=1",
    "-c",
    `\\copy copy_read (device_id, end_at, version, read_id, org_id, read_type, source, start_at, value_wh, energy_wh, eligible, flags, content_hash, recorded_at) FROM '${csvFile}' CSV`,
  ],
  { stdio: ["ignore", "ignore", "inherit"] },
);
const copyMs = performance.now() - copyStarted;
rmSync(csvFile);
console.log(
  `  baseline: COPY of the same ${fmt(READS)} rows into the same table shape ${(copyMs / 1000).toFixed(1)} s ` +
    `(${fmt(READS / (copyMs / 1000))} rows/s, load average ${loadavg()[0]!.toFixed(1)}); the service end to end ` +
    `takes ${(endToEndMs / copyMs).toFixed(1)}× the COPY (checks, idempotency, refusals kept, events published)`,
);

// ---- 2. monthly aggregate over three years of hourly reads --------------------------------------------

const qStart = Date.UTC(2023, 10, 1);
const hours = 3 * 8760;
for (let from = 0; from < hours; from += BATCH) {
  const reads = [];
  for (let h = from; h < Math.min(hours, from + BATCH); h++) {
    reads.push({
      starttimestamp: new Date(qStart + h * HOUR).toISOString(),
      endtimestamp: new Date(qStart + (h + 1) * HOUR).toISOString(),
      value: whOf(1, h),
    });
  }
  await post(JSON.stringify({ type: "history", unit: "Wh", deviceId: "dev-bench-query", reads }));
}
await db.query("ANALYZE meter_read");
const queryUrl = `${base}/organizations/org-bench/devices/dev-bench-query/energy?period=month&timezone=Europe/Stockholm`;
const auth = { authorization: `Bearer ${token}` };
let months = 0;
for (let i = 0; i < 10; i++)
  months = ((await (await fetch(queryUrl, { headers: auth })).json()) as { items: unknown[] }).items.length;
const times: number[] = [];
for (let i = 0; i < QUERIES; i++) {
  const t = performance.now();
  const res = await fetch(queryUrl, { headers: auth });
  await res.arrayBuffer();
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
console.log(
  `query: monthly energy over ${fmt(hours)} hourly reads (${months} months, Europe/Stockholm), ${QUERIES} GETs over HTTP: ` +
    `p50 ${percentile(times, 0.5).toFixed(1)} ms, p99 ${percentile(times, 0.99).toFixed(1)} ms (goal: p99 under 50 ms)`,
);

// ---- tear down ----------------------------------------------------------------------------------------

await consumer.disconnect();
child.kill("SIGTERM");
await new Promise((r) => child.once("exit", r));
await db.end();
if (!keepDatabase) await dropDatabase(serverUrl, database);
const admin = kafka.admin();
await admin.connect();
const ours = (await admin.listTopics()).filter((t) => t.startsWith(topicPrefix));
if (ours.length > 0) await admin.deleteTopics({ topics: ours });
await admin.disconnect();
