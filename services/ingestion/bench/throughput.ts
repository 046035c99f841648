/**
 * Ingestion end to end: simulated gateways stream realistic readings (@energy/simulation's curves,
 * counters included) to the ingestion service started as a child process, over WebSocket (default) or
 * HTTP; the service publishes them on ingestion.telemetry.v1 and its telemetry store applies them to
 * PostgreSQL (raw readings, twins, half-hourly energy, liveness).
 *
 *   node --import tsx bench/throughput.ts [--gateways 50] [--devices 2] [--transport ws|http]
 *     [--batch-items 500] [--window 4] [--warmup 5] [--seconds 30] [--interval 5]
 *     [--latency-seconds 30] [--latency-period 1000] [--rate N] [--instances 1] [--keep-database]
 *     [--cpu-prof DIR] [--store-lag-max 5] [--baseline-readings 400000] [--prepared-rate 100000]
 *
 * Phase 1 "max": every gateway keeps `window` batches of `batch-items` readings in flight for warmup +
 * seconds (the batches made before the phase, enough for `prepared-rate` readings/s: a gateway has its
 * readings ready, and the bench making them during the phase took the cores the service runs on); measured over `seconds`: readings acknowledged per second, readings stored per second by the
 * telemetry store, then the time the store needs to catch up once the senders stop (and its rate alone).
 * End to end = the phase's readings / the time from its first send until the store has applied the last
 * (the store's counter on /metrics; the reading table's row count is checked after). Phase 2 "latency":
 * once the store has caught up, the gateways send at half the end-to-end rate (each gateway one batch
 * every `latency-period` ms, generated and serialized while it waits for its time; open loop: a batch goes
 * out on time whether or not earlier ones are answered) and the acknowledgement latency is measured from
 * the batch's scheduled send time to its answer (with the largest store pressure seen: at half rate
 * gateways should never be slowed), and over WebSocket also as the service sees it, from the frame's
 * arrival to its answer (its ingestion_ws_frame_duration_seconds histogram).
 * `--rate N` skips phase 1 and paces phase 2 at N readings/s; `--instances N` starts N service processes
 * (one consumer group: the telemetry topic's partitions are shared) and spreads the gateways over them;
 * `--cpu-prof DIR` runs the service with node's --cpu-prof (the profile is written to DIR when it stops).
 * The service runs with STORE_LAG_MAX_SECONDS = `--store-lag-max`: phase 1 reports the largest store lag
 * seen (gateways are slowed from half of it; HTTP batches answered 503 are sent again after Retry-After).
 * Then the baselines (bench/baselines.ts): the same readings through raw PostgreSQL COPY (three times, the
 * median counts) and raw kafkajs produce+consume, and end to end as a ratio to the slower of the two.
 * Each window also shows the CPU used by the service, the PostgreSQL backends of its database and the
 * local Kafka broker (from /proc; per reading where the flow is steady), and by the other processes.
 *
 * The registry projection is seeded by inserting its rows into the service's database (no registry.*
 * events). Readings start yesterday at 00:00 UTC, one every `interval` seconds per DER (a backfill: each
 * batch holds whole timestamps of one site). POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres)
 * names the server (the bench uses its own database energy_ingestion_bench, dropped at the end);
 * KAFKA_BROKERS (default 127.0.0.1:9092). Prints figures; asserts nothing (goal: >= 25,000 readings/s).
 */
import { randomBytes } from "node:crypto";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  GatewaySimulator,
  type SimulatedGateway,
  syntheticGateways,
  type TelemetryItem,
} from "@energy/simulation";
import pg from "pg";
import { WebSocket } from "ws";
import { copyBaseline, copyRuns, kafkaBaseline } from "./baselines.ts";
import {
  CpuMeter,
  type CpuSample,
  describeMachine,
  flag,
  gatewayToken,
  localKafkaPid,
  mib,
  numberOption,
  option,
  prepare,
  quantile,
  type SeedGateway,
  type ServiceChild,
  seedProjection,
  seedScopes,
  sleep,
  startService,
  table,
  teardown,
} from "./harness.ts";

const GATEWAYS = numberOption("gateways", 50);
const DEVICES = numberOption("devices", 2);
const TRANSPORT = option("transport", "ws");
const BATCH_ITEMS = numberOption("batch-items", 500);
const WINDOW = numberOption("window", 4);
const WARMUP_S = numberOption("warmup", 5);
const SECONDS = numberOption("seconds", 30);
const INTERVAL_MS = numberOption("interval", 5) * 1000;
const LATENCY_SECONDS = numberOption("latency-seconds", 30);
const LATENCY_PERIOD_MS = numberOption("latency-period", 1000);
const KEEP_DATABASE = flag("keep-database");
const CPU_PROF = option("cpu-prof", "");
/** Skip phase 1 and pace phase 2 at this many readings/s (to profile or check a rate). */
const RATE = numberOption("rate", 0);
/** Service processes (same database, same consumer groups); the gateways are spread over them. */
const INSTANCES = Math.max(1, numberOption("instances", 1));
/** The service's STORE_LAG_MAX_SECONDS: gateways are slowed from half of it. */
const STORE_LAG_MAX_S = numberOption("store-lag-max", 5);
/** Phase 1's batches made before it: enough for this many readings/s over its warm-up and seconds. */
const PREPARED_RATE = numberOption("prepared-rate", 100_000);
/**
 * Simulated time that phase 1's batches made before it leave for phase 2: 8 hours, 23,040 readings a gateway
 * of 4 DERs, more than phase 2 sends in 35 s at 30,000/s (21,000).
 */
const PHASE_2_RESERVE_MS = 8 * 3_600_000;
/** Readings of phase 1 the baselines (PostgreSQL COPY, raw kafkajs) move again, at most. */
const BASELINE_READINGS = numberOption("baseline-readings", 400_000);
if (TRANSPORT !== "ws" && TRANSPORT !== "http") throw new Error("--transport must be ws or http");

const STORE_GROUP = "ingestion.telemetry-store";
/** A full GC of the bench's own heap, between phases (node's `gc`, exposed without a command-line flag). */
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;
const DAY_MS = 86_400_000;

interface Answer {
  accepted: number;
  rejected: number;
}

/**
 * One gateway's way to ingestion: a WebSocket with several frames in flight, or HTTP POSTs. A batch is
 * prepared (serialized) before it is sent: phase 2 prepares each gateway's next batch while it waits for its
 * send time, as a gateway has its readings ready when it sends, so the bench's own work on a batch does not
 * sit in the latency measured from the scheduled send.
 */
interface Link {
  prepare(items: TelemetryItem[]): PreparedBatch;
  send(batch: PreparedBatch): Promise<Answer>;
  close(): void;
}

interface PreparedBatch {
  /** how many items */
  count: number;
  /**
   * The items as one JSON array, UTF-8. A Buffer, outside V8's heap: phase 1 holds hundreds of MB of them,
   * which as strings the bench's mark-compacts copied (pauses of ~200 ms in which no answer was taken up).
   */
  json: Buffer;
}

const prepareBatch = (items: TelemetryItem[]): PreparedBatch => ({
  count: items.length,
  json: Buffer.from(JSON.stringify(items)),
});
const FRAME_END = Buffer.from("}");

class WsLink implements Link {
  private readonly pending = new Map<string, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private readonly prefix = randomBytes(3).toString("hex");

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data) => {
      const answer = JSON.parse(data.toString()) as {
        batchId: string;
        accepted?: number;
        rejected?: unknown[];
        error?: { code: string; message: string };
      };
      const waiting = this.pending.get(answer.batchId);
      if (!waiting) return;
      this.pending.delete(answer.batchId);
      if (answer.error) waiting.reject(new Error(`${answer.error.code}: ${answer.error.message}`));
      else waiting.resolve({ accepted: answer.accepted ?? 0, rejected: answer.rejected?.length ?? 0 });
    });
    socket.on("close", () => {
      for (const waiting of this.pending.values()) waiting.reject(new Error("the socket closed"));
      this.pending.clear();
    });
  }

  static open(url: string, token: string): Promise<WsLink> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${url.replace(/^http/, "ws")}/v1/telemetry/ws`, {
        headers: { authorization: `Bearer ${token}` },
      });
      socket.once("open", () => resolve(new WsLink(socket)));
      socket.once("error", reject);
      socket.once("unexpected-response", (_req, res) =>
        reject(new Error(`upgrade refused: ${res.statusCode}`)),
      );
    });
  }

  prepare = prepareBatch;

  send(batch: PreparedBatch): Promise<Answer> {
    const batchId = `${this.prefix}-${this.seq++}`;
    return new Promise((resolve, reject) => {
      if (this.socket.readyState !== WebSocket.OPEN) return reject(new Error("the socket closed"));
      this.pending.set(batchId, { resolve, reject });
      const head = Buffer.from(`{"batchId":${JSON.stringify(batchId)},"items":`);
      this.socket.send(Buffer.concat([head, batch.json, FRAME_END]), { binary: false });
    });
  }

  close() {
    this.socket.close();
  }
}

class HttpLink implements Link {
  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  /** Batches answered 503 (the store is behind) and sent again after Retry-After. */
  static slowed = 0;

  prepare = prepareBatch;

  async send(batch: PreparedBatch): Promise<Answer> {
    const body = batch.json;
    for (;;) {
      const res = await fetch(`${this.url}/v1/telemetry`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
        body,
      });
      const answer = (await res.json()) as {
        accepted: number;
        rejected: unknown[];
        error?: { message: string };
      };
      if (res.status === 503 && res.headers.get("retry-after")) {
        HttpLink.slowed++;
        await sleep(Number(res.headers.get("retry-after")) * 1000);
        continue;
      }
      if (!res.ok)
        throw new Error(`POST /v1/telemetry answered ${res.status}: ${answer.error?.message ?? ""}`);
      return { accepted: answer.accepted, rejected: answer.rejected.length };
    }
  }

  close() {}
}

/** What gateways of a phase got back, counted as answers arrive. */
class Tally {
  accepted = 0;
  rejected = 0;
  failed = 0;
  batches = 0;
  readonly errors = new Map<string, number>();
  latencies: number[] = [];

  answered(answer: Answer, latencyMs: number | null) {
    this.batches++;
    this.accepted += answer.accepted;
    this.rejected += answer.rejected;
    if (latencyMs !== null) this.latencies.push(latencyMs);
  }

  error(error: Error, items: number) {
    this.failed += items;
    this.errors.set(error.message, (this.errors.get(error.message) ?? 0) + 1);
  }
}

/** A counter of the telemetry store's consumer (kafka_batch_consumer_<name>) summed over the instances. */
async function storeMetric(instances: ServiceChild[], name: string): Promise<number | null> {
  let sum: number | null = null;
  for (const instance of instances) {
    for (const [key, value] of await instance.metrics()) {
      // the group id may carry the topic prefix: match its end
      if (key.startsWith(`kafka_batch_consumer_${name}{`) && key.includes(`${STORE_GROUP}"`))
        sum = (sum ?? 0) + value;
    }
  }
  return sum;
}

/** Readings the telemetry store has stored (ingestion_readings_stored_total), or null without the metric. */
async function storedCount(instances: ServiceChild[]): Promise<number | null> {
  let sum: number | null = null;
  for (const instance of instances) {
    for (const [key, value] of await instance.metrics()) {
      if (key === "ingestion_readings_stored_total" || key.startsWith("ingestion_readings_stored_total{"))
        sum = (sum ?? 0) + value;
    }
  }
  return sum;
}

/** The telemetry store's lag (or pressure) as the instances measure it (the largest), seconds. */
async function storeLag(instances: ServiceChild[], metric = "ingestion_store_lag_seconds"): Promise<number> {
  let lag = 0;
  for (const instance of instances) {
    for (const [key, value] of await instance.metrics()) {
      if (key.startsWith(metric)) lag = Math.max(lag, value);
    }
  }
  return lag;
}

/** The answered frames of ingestion_ws_frame_duration_seconds, cumulative count by upper bound (s), over instances. */
async function frameDurations(instances: ServiceChild[]): Promise<Map<number, number>> {
  const buckets = new Map<number, number>();
  for (const instance of instances) {
    for (const [key, value] of await instance.metrics()) {
      if (
        !key.startsWith("ingestion_ws_frame_duration_seconds_bucket") ||
        !key.includes('outcome="answered"')
      )
        continue;
      const le = /le="([^"]+)"/.exec(key)?.[1];
      if (le === undefined) continue;
      const bound = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + value);
    }
  }
  return buckets;
}

/**
 * The q-quantile of the frames between two snapshots of frameDurations, interpolated within its bucket, as
 * Prometheus's histogram_quantile does (NaN without frames; the bucket's lower bound if it is the +Inf one).
 */
function histogramQuantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i]! < rank) continue;
    const lower = i === 0 ? 0 : bounds[i - 1]!;
    if (bounds[i] === Number.POSITIVE_INFINITY) return lower;
    const below = i === 0 ? 0 : counts[i - 1]!;
    return lower + ((bounds[i]! - lower) * (rank - below)) / (counts[i]! - below || 1);
  }
  return Number.NaN;
}

/** Samples the store's lag (or pressure) every 250 ms until stopped; the largest seen. */
function lagSampler(instances: ServiceChild[], metric?: string) {
  let max = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      max = Math.max(max, await storeLag(instances, metric).catch(() => 0));
      await sleep(250);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return max;
    },
  };
}

async function readingRows(db: pg.Client): Promise<number> {
  const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM reading");
  return Number(rows[0]!.n);
}

/** Waits until the store has applied `target` readings; returns the time that took, ms. */
async function waitForStore(instances: ServiceChild[], db: pg.Client, target: number, timeoutMs = 600_000) {
  const started = performance.now();
  for (;;) {
    const stored = (await storedCount(instances)) ?? (await readingRows(db));
    if (stored >= target) return performance.now() - started;
    if (performance.now() - started > timeoutMs)
      throw new Error(`the store applied ${stored} of ${target} readings in ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);
const perSecond = (n: number, ms: number) => Math.round((n * 1000) / ms).toLocaleString("en-US");

const setup = await prepare("energy_ingestion_bench");
const services: ServiceChild[] = [];
const links: Link[] = [];
const db = new pg.Client({ connectionString: setup.databaseUrl });
try {
  const gateways: SimulatedGateway[] = syntheticGateways(GATEWAYS, DEVICES, "bench");
  const seed: SeedGateway[] = gateways.map((g) => ({
    gatewayId: g.gatewayId,
    devices: g.plan.devices.map((d) => ({
      deviceId: `dev-sim-${g.plan.index}-${d.key}`,
      type: d.type,
      ders: d.ders.map((der) => ({ derId: g.derIds[der.key]!, derType: der.derType })),
    })),
  }));
  const seeded = await seedProjection(setup.databaseUrl, seed);
  await db.connect();

  for (let n = 0; n < INSTANCES; n++) {
    services.push(
      await startService(setup, {
        nodeArgs: CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", CPU_PROF] : [],
        env: { STORE_LAG_MAX_SECONDS: String(STORE_LAG_MAX_S) },
      }),
    );
  }
  // Gateways are spread over the instances, as a load balancer would.
  for (const [i, g] of gateways.entries()) {
    const { url } = services[i % INSTANCES]!;
    const token = gatewayToken(setup.privateKey, g.gatewayId);
    links.push(TRANSPORT === "ws" ? await WsLink.open(url, token) : new HttpLink(url, token));
  }
  // From yesterday 00:00 UTC: the readings land in the day partitions the service keeps, as live ones do.
  const start = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS;
  const sims = gateways.map((g) => new GatewaySimulator(g, { start, intervalMs: INTERVAL_MS }));

  console.log("ingestion throughput bench");
  console.log(await describeMachine(setup));
  console.log(
    `service: ${INSTANCES === 1 ? "pid" : `${INSTANCES} instances, pids`} ${services.map((s) => s.pid).join(", ")}, ` +
      `transport ${TRANSPORT}; ${GATEWAYS} gateways, ${seeded.devices} devices, ` +
      `${seeded.ders} DERs (projection seeded by inserting rows into ${setup.database})`,
  );
  console.log(
    `readings: @energy/simulation curves, one every ${INTERVAL_MS / 1000} s per DER from ` +
      `${new Date(start).toISOString()} (a backfill); batches of up to ${BATCH_ITEMS} readings (whole timestamps)`,
  );

  // CPU by process: the service, the PostgreSQL backends of the bench's database, the local broker.
  const kafkaPid = localKafkaPid(setup.brokers);
  const cpu = new CpuMeter(async () => {
    const { rows } = await db.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      [setup.database],
    );
    return {
      service: services.map((s) => s.pid),
      postgres: rows.map((r) => r.pid),
      ...(kafkaPid ? { kafka: [kafkaPid] } : {}),
    };
  });
  const idle0 = await cpu.sample();
  await sleep(3_000);
  const idle = CpuMeter.cores(idle0, await cpu.sample());
  console.log(
    `CPU busy before the run (3 s, service idle): machine ${idle.machine!.toFixed(2)} cores, of which other ` +
      `processes ${idle.others!.toFixed(2)}`,
  );
  /** CPU rows of a window: cores by process, and (when the flow is steady) µs of CPU per reading stored. */
  const cpuRows = (cores: Record<string, number>, readingsPerSecond: number): string[][] => {
    const names = ["service", "postgres", "kafka", "bench", "others", "machine"].filter((n) => n in cores);
    return names.map((name) => [
      `CPU ${name === "postgres" ? "PostgreSQL backends" : name === "kafka" ? "Kafka broker" : name === "machine" ? "machine, all processes" : name === "others" ? "other processes" : name}`,
      `${cores[name]!.toFixed(2)} cores` +
        (["service", "postgres", "kafka"].includes(name) && readingsPerSecond > 0
          ? ` (${Math.round((cores[name]! * 1e6) / readingsPerSecond)} µs per reading)`
          : ""),
    ]);
  };

  // ---- phase 1: as fast as acknowledgements allow --------------------------------------------------
  const max = new Tally();
  /** Gateway i's next batch of BATCH_ITEMS readings, serialized. */
  const nextBatch = (i: number, until = Date.now()): PreparedBatch | null => {
    const batch = sims[i]!.take(until, BATCH_ITEMS);
    return batch && links[i]!.prepare(batch.items);
  };
  const caughtUpWithClock = () =>
    new Error("the simulated readings caught up with the clock: use a shorter --interval");
  let preparedNote = "";
  let madeDuring = 0;
  let e2eRate = RATE * 2;
  let ackRate = Number.NaN;
  let storeRate = Number.NaN;
  let maxLagS = Number.NaN;
  if (RATE === 0) {
    // Phase 1's batches are made (generated and serialized) before it starts, as many as PREPARED_RATE
    // readings/s would send: a gateway has its readings ready when it sends, and the bench making them
    // during the phase took CPU from the service and the database on the same two cores. Should the
    // service be faster than that, the rest is made as it goes (and counted).
    // Readings of the last PHASE_2_RESERVE_MS of simulated time are left for phase 2 (made as it goes).
    const madeFrom = performance.now();
    const perGateway = Math.ceil((PREPARED_RATE * (WARMUP_S + SECONDS)) / GATEWAYS / BATCH_ITEMS);
    const reserveUntil = Date.now() - PHASE_2_RESERVE_MS;
    const ready = gateways.map((_, i) => {
      const queue: PreparedBatch[] = [];
      for (let batch = nextBatch(i, reserveUntil); batch && queue.length < perGateway; ) {
        queue.push(batch);
        if (queue.length < perGateway) batch = nextBatch(i, reserveUntil);
      }
      return queue;
    });
    const made = ready.reduce((n, queue) => n + queue.length, 0);
    preparedNote = `${made.toLocaleString("en-US")} batches made in ${seconds(performance.now() - madeFrom)} s before it`;
    let sending = true;
    const senders = gateways.map(async (_, i) => {
      const link = links[i]!;
      const queue = ready[i]!;
      const inFlight = new Set<Promise<void>>();
      while (sending) {
        while (inFlight.size >= WINDOW) await Promise.race(inFlight);
        if (!sending) break;
        let batch = queue.shift() ?? null;
        if (!batch) {
          batch = nextBatch(i);
          if (!batch) throw caughtUpWithClock();
          madeDuring++;
        }
        const count = batch.count;
        const p: Promise<void> = link
          .send(batch)
          .then(
            (answer) => max.answered(answer, null),
            (error: Error) => max.error(error, count),
          )
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await Promise.all(inFlight);
    });

    const phaseStart = performance.now();
    const lag = lagSampler(services);
    await sleep(WARMUP_S * 1000);
    const stored0 = (await storedCount(services)) ?? (await readingRows(db));
    const accepted0 = max.accepted;
    const cpu0 = await cpu.sample();
    let peakRss = 0;
    const rssTimer = setInterval(() => {
      peakRss = Math.max(peakRss, ...services.map((s) => s.memory().rss));
    }, 500);
    let last = { t: cpu0.at, accepted: accepted0, stored: stored0 };
    const progress = setInterval(async () => {
      const now = {
        t: performance.now(),
        accepted: max.accepted,
        stored: (await storedCount(services)) ?? 0,
      };
      process.stderr.write(
        `  ${seconds(now.t - phaseStart).padStart(6)} s: acknowledged ${perSecond(now.accepted - last.accepted, now.t - last.t)}/s, ` +
          `stored ${perSecond(now.stored - last.stored, now.t - last.t)}/s, behind ${now.accepted - now.stored}\n`,
      );
      last = now;
    }, 5_000);
    await sleep(SECONDS * 1000);
    const cpu1 = await cpu.sample();
    const stored1 = (await storedCount(services)) ?? (await readingRows(db));
    const accepted1 = max.accepted;
    sending = false;
    await Promise.all(senders);
    // the batches not sent are let go, and collected now: a major GC of the bench's heap in phase 2 (one of
    // 197 ms was seen) would be in its latency
    for (const queue of ready) queue.length = 0;
    collectGarbage();
    maxLagS = await lag.stop();
    clearInterval(rssTimer);
    clearInterval(progress);
    const storedAtStop = (await storedCount(services)) ?? (await readingRows(db));
    const cpuAtStop = await cpu.sample();
    const drainMs = await waitForStore(services, db, max.accepted);
    const caughtUp = performance.now();
    const cpuCaughtUp = await cpu.sample();
    const drainRate = ((max.accepted - storedAtStop) * 1000) / (cpuCaughtUp.at - cpuAtStop.at);
    const rows = await readingRows(db);
    const chunks = await storeMetric(services, "batches_total");

    const windowMs = cpu1.at - cpu0.at;
    ackRate = ((accepted1 - accepted0) * 1000) / windowMs;
    storeRate = ((stored1 - stored0) * 1000) / windowMs;
    // End to end: every reading of the phase, from the first send until the store has applied the last.
    e2eRate = (max.accepted * 1000) / (caughtUp - phaseStart);
    console.log(
      `\nphase 1: max (each gateway keeps ${WINDOW} batches in flight; measured over ${SECONDS} s after ${WARMUP_S} s warm-up; ${preparedNote}, ${madeDuring} more made during it)`,
    );
    console.log(
      table([
        ["", "value"],
        ["readings acknowledged/s", perSecond(accepted1 - accepted0, windowMs)],
        ["readings stored/s by the telemetry store (same window)", perSecond(stored1 - stored0, windowMs)],
        ["store caught up after the senders stopped", `${seconds(drainMs)} s`],
        [
          `store lag, largest seen (bound STORE_LAG_MAX_SECONDS ${STORE_LAG_MAX_S} s; slowed from ${STORE_LAG_MAX_S / 2} s)`,
          `${maxLagS.toFixed(2)} s`,
        ],
        ["HTTP batches answered 503 and sent again after Retry-After", String(HttpLink.slowed)],
        [
          "end to end: readings/s from the first send to the last stored",
          perSecond(max.accepted, caughtUp - phaseStart),
        ],
        ["readings accepted / rejected / failed", `${max.accepted} / ${max.rejected} / ${max.failed}`],
        ["rows in reading after the phase", String(rows)],
        [
          "store transactions, readings per transaction",
          chunks ? `${chunks}, ${Math.round(max.accepted / chunks)}` : "-",
        ],
        ...cpuRows(CpuMeter.cores(cpu0, cpu1), 0),
        [`service peak RSS${INSTANCES > 1 ? " (largest instance)" : ""}`, mib(peakRss)],
      ]),
    );
    console.log(
      `\nthe store alone, catching up once the senders stopped: ${Math.round(drainRate).toLocaleString("en-US")} readings/s`,
    );
    console.log(table([["", "value"], ...cpuRows(CpuMeter.cores(cpuAtStop, cpuCaughtUp), drainRate)]));
    for (const [message, n] of max.errors) console.log(`  failed batches: ${n} × ${message}`);
  }

  // ---- phase 2: latency at half the end-to-end rate ------------------------------------------------
  const target = e2eRate / 2;
  const perBatch = (target * LATENCY_PERIOD_MS) / 1000 / GATEWAYS;
  const lat = new Tally();
  const latStart = performance.now();
  // the bench's own event loop: an answer it takes up late counts in the latency as if the service were late
  const benchLoop = monitorEventLoopDelay({ resolution: 10 });
  benchLoop.enable();
  const measureFrom = latStart + WARMUP_S * 1000;
  const latEnd = measureFrom + LATENCY_SECONDS * 1000;
  let late = 0;
  let latCpu0: CpuSample | undefined;
  let latStored0 = 0;
  let frames0 = new Map<number, number>();
  const cpuStart = setTimeout(async () => {
    frames0 = await frameDurations(services);
    latStored0 = (await storedCount(services)) ?? 0;
    latCpu0 = await cpu.sample();
  }, measureFrom - latStart);
  // Gateways are slowed from half of STORE_LAG_MAX_SECONDS of pressure: at half rate they should never be.
  const latPressure = lagSampler(services, "ingestion_store_pressure_seconds");
  const pacers = gateways.map(async (_, i) => {
    const sim = sims[i]!;
    const link = links[i]!;
    const inFlight = new Set<Promise<void>>();
    let due = latStart + (LATENCY_PERIOD_MS * i) / GATEWAYS;
    let budget = 0;
    /** The gateway's batch for its next send time, prepared while it waits for it. */
    const prepareNext = () => {
      budget += perBatch;
      const batch = sim.take(Date.now(), Math.max(1, Math.floor(budget)));
      if (!batch) throw caughtUpWithClock();
      budget -= batch.items.length;
      return link.prepare(batch.items);
    };
    let next = prepareNext();
    while (due < latEnd) {
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      else if (wait < -5) late++;
      const scheduled = due;
      const measured = scheduled >= measureFrom;
      const prepared = next;
      const p: Promise<void> = link
        .send(prepared)
        .then(
          (answer) => lat.answered(answer, measured ? performance.now() - scheduled : null),
          (error: Error) => lat.error(error, prepared.count),
        )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      due += LATENCY_PERIOD_MS;
      if (due < latEnd) next = prepareNext();
    }
    await Promise.all(inFlight);
  });
  await Promise.all(pacers);
  const frames1 = await frameDurations(services);
  const latPressureMaxS = await latPressure.stop();
  clearTimeout(cpuStart);
  const latCpu1 = await cpu.sample();
  const latStored1 = (await storedCount(services)) ?? 0;
  const latDone = performance.now();
  benchLoop.disable();
  const latDrainMs = await waitForStore(services, db, max.accepted + lat.accepted);
  const sorted = lat.latencies.sort((a, b) => a - b);
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const latStoreRate = latCpu0 ? ((latStored1 - latStored0) * 1000) / (latCpu1.at - latCpu0.at) : 0;
  console.log(
    `\nphase 2: latency at ${RATE ? "the rate given" : "half the end-to-end rate"}, ${Math.round(target).toLocaleString("en-US")} readings/s ` +
      `(each gateway one batch of ~${perBatch.toFixed(0)} readings every ${LATENCY_PERIOD_MS} ms, open loop; ` +
      `latency from the scheduled send to the answer, measured over ${LATENCY_SECONDS} s after ${WARMUP_S} s)`,
  );
  console.log(
    table([
      ["", "value"],
      ["readings acknowledged/s", perSecond(lat.accepted, latDone - latStart)],
      ["readings stored/s (measured window)", Math.round(latStoreRate).toLocaleString("en-US")],
      ["acknowledgements measured", String(sorted.length)],
      ["ack latency p50", ms(quantile(sorted, 0.5))],
      ["ack latency p95", ms(quantile(sorted, 0.95))],
      ["ack latency p99", ms(quantile(sorted, 0.99))],
      ["ack latency max", ms(sorted.at(-1) ?? Number.NaN)],
      ...(TRANSPORT === "ws"
        ? [
            [
              "in the service, frame arrival to answer: p50 / p99 (its histogram, interpolated)",
              `${ms(histogramQuantile(frames0, frames1, 0.5) * 1000)} / ${ms(histogramQuantile(frames0, frames1, 0.99) * 1000)}`,
            ],
          ]
        : []),
      ["batches sent more than 5 ms late (bench overloaded)", String(late)],
      [
        "the bench's own event loop delay: p99 / max",
        `${ms(benchLoop.percentile(99) / 1e6)} / ${ms(benchLoop.max / 1e6)}`,
      ],
      [
        `store pressure, largest seen (gateways slowed from ${STORE_LAG_MAX_S / 2} s)`,
        `${latPressureMaxS.toFixed(2)} s`,
      ],
      ["store caught up after the last answer", `${seconds(latDrainMs)} s`],
      ["readings rejected / failed", `${lat.rejected} / ${lat.failed}`],
      ...(latCpu0 ? cpuRows(CpuMeter.cores(latCpu0, latCpu1), latStoreRate) : []),
    ]),
  );
  for (const [message, n] of lat.errors) console.log(`  failed batches: ${n} × ${message}`);

  // ---- baselines: the same readings, raw PostgreSQL COPY and raw kafkajs produce+consume ---------------
  const baselineCount = Math.min(BASELINE_READINGS, Math.max(max.accepted, lat.accepted, 50_000));
  const again = gateways.map((g) => new GatewaySimulator(g, { start, intervalMs: INTERVAL_MS }));
  const batches: TelemetryItem[][] = [];
  for (let n = 0, i = 0; n < baselineCount; i = (i + 1) % again.length) {
    const items = again[i]!.take(Date.now(), BATCH_ITEMS)!.items;
    batches.push(items);
    n += items.length;
  }
  const scopes = seedScopes(seed);
  const copy = await copyBaseline(setup.databaseUrl, batches, scopes);
  const raw = await kafkaBaseline({
    brokers: setup.brokers,
    topicPrefix: setup.topicPrefix,
    partitions: 6,
    batches,
    scopes,
    inFlight: GATEWAYS * WINDOW,
  });
  const slower = Math.min(copy.perSecond, raw.perSecond);
  console.log(
    `\nbaselines, the same readings (${copy.rows.toLocaleString("en-US")}, the first of phase 1) moved raw, in this run:`,
  );
  console.log(
    table([
      ["", "readings/s"],
      [
        `PostgreSQL COPY into a copy of the reading table (same columns and primary key), ${copyRuns(copy)}`,
        Math.round(copy.perSecond).toLocaleString("en-US"),
      ],
      [
        `kafkajs produce (acks -1, ${GATEWAYS * WINDOW} requests in flight) + consume, ${raw.messages.toLocaleString("en-US")} messages (one per DER and batch)`,
        Math.round(raw.perSecond).toLocaleString("en-US"),
      ],
      ["end to end as a ratio to the slower of the two", (e2eRate / slower).toFixed(2)],
    ]),
  );

  console.log(
    `\nsummary: end to end ${Math.round(e2eRate).toLocaleString("en-US")} readings/s = ${(e2eRate / slower).toFixed(2)} × ` +
      `the slower baseline (COPY ${Math.round(copy.perSecond).toLocaleString("en-US")}/s, kafkajs ${Math.round(raw.perSecond).toLocaleString("en-US")}/s); ` +
      `store lag at most ${maxLagS.toFixed(2)} s (bound ${STORE_LAG_MAX_S} s)`,
  );
  console.log(
    `summary: end to end ${Math.round(e2eRate).toLocaleString("en-US")} readings/s (goal 25,000/s; acknowledged ` +
      `${Math.round(ackRate).toLocaleString("en-US")}/s, stored ${Math.round(storeRate).toLocaleString("en-US")}/s ` +
      `while the senders ran); at ${Math.round(target).toLocaleString("en-US")}/s ack p50 ${ms(quantile(sorted, 0.5))}, ` +
      `p99 ${ms(quantile(sorted, 0.99))}`,
  );
} finally {
  for (const link of links) link.close();
  await Promise.all(services.map((s) => s.stop()));
  await db.end().catch(() => {});
  await teardown(setup, KEEP_DATABASE);
  if (KEEP_DATABASE) console.log(`database ${setup.database} kept`);
}
