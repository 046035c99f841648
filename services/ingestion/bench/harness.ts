/**
 * What the ingestion benches share: a database and topics of their own, the service started as a child
 * process (`node --import tsx src/server.ts`, as in production) with its env, gateway tokens signed by a key
 * pair made for the run, the service's memory and CPU read from /proc, and the machine described.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDatabase, databaseUrl, dropDatabase, migrate } from "@energy/infra/postgres";
import { ensureTopics } from "@energy/infra/topics";
import { createKafka } from "@energy/kafka";
import jwt from "jsonwebtoken";
import pg from "pg";
import type { DerScope } from "./baselines.ts";

export const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = join(serviceDir, "..", "..");

/** Topics the service consumes or produces. */
export const TOPICS = [
  "ingestion.raw.v1",
  "ingestion.telemetry.v1",
  "ingestion.telemetry-rejected.v1",
  "ingestion.interval.v1",
  "ingestion.liveness.v1",
  "registry.identity.v1",
  "registry.organization.v1",
  "registry.membership.v1",
  "registry.site.v1",
  "registry.device.v1",
  "registry.der.v1",
  "ocpp.charger.v1",
];

/** `--name value` from the command line, or the fallback. */
export function option(name: string, fallback: string): string {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}
export const numberOption = (name: string, fallback: number) => {
  const value = Number(option(name, String(fallback)));
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number >= 0`);
  return value;
};
export const flag = (name: string) => process.argv.slice(2).includes(`--${name}`);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface BenchSetup {
  serverUrl: string;
  brokers: string;
  database: string;
  databaseUrl: string;
  topicPrefix: string;
  privateKey: KeyObject;
  publicKeyPem: string;
  privateKeyPem: string;
}

/**
 * A fresh, migrated database named `database` (dropped first if a previous run left it) and the service's
 * topics under a prefix of this run. POSTGRES_URL names the server, KAFKA_BROKERS the broker.
 */
export async function prepare(database: string): Promise<BenchSetup> {
  const serverUrl = process.env.POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
  const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
  const topicPrefix = `bench${randomBytes(3).toString("hex")}.`;
  await dropDatabase(serverUrl, database);
  await createDatabase(serverUrl, database);
  const url = databaseUrl(serverUrl, database);
  migrate("ingestion", url);
  await ensureTopics({ brokers, prefix: topicPrefix, only: TOPICS });
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    serverUrl,
    brokers,
    database,
    databaseUrl: url,
    topicPrefix,
    privateKey: keys.privateKey,
    publicKeyPem: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    privateKeyPem: keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/** Drops the database (unless kept) and deletes the run's topics. */
export async function teardown(setup: BenchSetup, keepDatabase: boolean): Promise<void> {
  if (!keepDatabase) await dropDatabase(setup.serverUrl, setup.database);
  const admin = createKafka({ brokers: setup.brokers, clientId: "ingestion-bench" }).admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    const ours = existing.filter((t) => t.startsWith(setup.topicPrefix));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours });
  } finally {
    await admin.disconnect();
  }
}

/** A gateway's access token as the registry issues it (ES256, `typ: gateway`). */
export function gatewayToken(privateKey: KeyObject | string, gatewayId: string, ttl = "2h"): string {
  return jwt.sign({ typ: "gateway" }, privateKey, {
    algorithm: "ES256",
    subject: gatewayId,
    issuer: "energy-registry",
    audience: "energy-platform",
    expiresIn: ttl as jwt.SignOptions["expiresIn"],
  });
}

export interface SeedGateway {
  gatewayId: string;
  devices: Array<{ deviceId: string; type: string; ders: Array<{ derId: string; derType: string }> }>;
}

/** Each seeded DER's device, site, organization and gateway, as seedProjection writes them. */
export function seedScopes(gateways: SeedGateway[]): Map<string, DerScope> {
  const scopes = new Map<string, DerScope>();
  for (const [i, g] of gateways.entries()) {
    for (const d of g.devices) {
      for (const der of d.ders) {
        scopes.set(der.derId, {
          deviceId: d.deviceId,
          siteId: `site-bench-${i}`,
          orgId: `org-bench-${i % 10}`,
          gatewayId: g.gatewayId,
        });
      }
    }
  }
  return scopes;
}

/**
 * Writes sites, devices and DERs straight into the service's registry projection (the rows the registry.*
 * events would leave there), one organization and one site per gateway.
 */
export async function seedProjection(
  url: string,
  gateways: SeedGateway[],
): Promise<{ devices: number; ders: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const sites = gateways.map((_, i) => ({ id: `site-bench-${i}`, orgId: `org-bench-${i % 10}` }));
    const devices = gateways.flatMap((g, i) =>
      g.devices.map((d) => ({ ...d, siteId: sites[i]!.id, orgId: sites[i]!.orgId, gatewayId: g.gatewayId })),
    );
    const ders = devices.flatMap((d) => d.ders.map((der) => ({ ...der, device: d })));
    await client.query(
      `INSERT INTO site (id, org_id, name, timezone)
       SELECT id, org_id, id, 'Europe/Stockholm' FROM unnest($1::text[], $2::text[]) AS s(id, org_id)`,
      [sites.map((s) => s.id), sites.map((s) => s.orgId)],
    );
    await client.query(
      `INSERT INTO device (id, org_id, site_id, type, name, state, comm_identity_id)
       SELECT id, org_id, site_id, type, id, 'active', gw
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS d(id, org_id, site_id, type, gw)`,
      [
        devices.map((d) => d.deviceId),
        devices.map((d) => d.orgId),
        devices.map((d) => d.siteId),
        devices.map((d) => d.type),
        devices.map((d) => d.gatewayId),
      ],
    );
    await client.query(
      `INSERT INTO der (id, device_id, site_id, org_id, der_type, name)
       SELECT id, device_id, site_id, org_id, der_type, id
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS d(id, device_id, site_id, org_id, der_type)`,
      [
        ders.map((d) => d.derId),
        ders.map((d) => d.device.deviceId),
        ders.map((d) => d.device.siteId),
        ders.map((d) => d.device.orgId),
        ders.map((d) => d.derType),
      ],
    );
    await client.query("ANALYZE");
    return { devices: devices.length, ders: ders.length };
  } finally {
    await client.end();
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ServiceChild {
  pid: number;
  url: string;
  child: ChildProcess;
  /** VmRSS and VmHWM of the service process, bytes. */
  memory(): { rss: number; peakRss: number };
  /** CPU time the service process used so far (user + system), seconds. */
  cpuSeconds(): number;
  /** The service's Prometheus metrics, name{labels} → value. */
  metrics(): Promise<Map<string, number>>;
  /** SIGTERM (graceful shutdown), SIGKILL after 15 s. */
  stop(): Promise<void>;
}

/**
 * Starts the ingestion service as a child process on a free port (`node [nodeArgs] --import tsx
 * src/server.ts` in services/ingestion) and waits until /readyz says ready. Its stderr and stdout go
 * to this process's stderr, prefixed.
 */
export async function startService(
  setup: BenchSetup,
  opts: { env?: Record<string, string>; nodeArgs?: string[] } = {},
): Promise<ServiceChild> {
  const port = await freePort();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), "--import", "tsx", "src/server.ts"], {
    cwd: serviceDir,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_OPTIONS: process.env.NODE_OPTIONS ?? "",
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATABASE_URL: setup.databaseUrl,
      KAFKA_BROKERS: setup.brokers,
      KAFKA_TOPIC_PREFIX: setup.topicPrefix,
      JWT_PUBLIC_KEY: setup.publicKeyPem,
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // kafkajs logs the group coordination of a start (coordinator loading, rebalancing) as errors: left out.
  const transient = /coordinator is loading|group coordinator is not available|group is rebalancing/;
  const relay = (stream: NodeJS.ReadableStream | null) =>
    stream?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() && !transient.test(line)) process.stderr.write(`[service] ${line.slice(0, 2000)}\n`);
      }
    });
  relay(child.stdout);
  relay(child.stderr);
  let exited: number | null | undefined;
  child.once("exit", (code) => {
    exited = code;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited !== undefined)
      throw new Error(`the ingestion service exited during start-up (code ${exited})`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error("the ingestion service was not ready within 120 s");
    }
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  const pid = child.pid!;
  const status = () => readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (text: string, field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) * 1024;
  return {
    pid,
    url,
    child,
    memory() {
      const text = status();
      return { rss: kb(text, "VmRSS"), peakRss: kb(text, "VmHWM") };
    },
    cpuSeconds() {
      return processCpuSeconds(pid) ?? 0;
    },
    async metrics() {
      const text = await (await fetch(`${url}/metrics`)).text();
      const values = new Map<string, number>();
      for (const line of text.split("\n")) {
        if (!line || line.startsWith("#")) continue;
        const space = line.lastIndexOf(" ");
        values.set(line.slice(0, space), Number(line.slice(space + 1)));
      }
      return values;
    },
    async stop() {
      if (exited !== undefined) return;
      const done = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await done;
      clearTimeout(timer);
    },
  };
}

/** CPU time (user + system) a process used so far, seconds; null once it is gone. */
export function processCpuSeconds(pid: number): number | null {
  try {
    // fields after the command name: state is field 3, utime 14, stime 15 (clock ticks of 1/100 s)
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** The pid of the broker infra/kafka/kafka.ts started for `brokers` on this machine, if it did. */
export function localKafkaPid(brokers: string): number | null {
  const port = /:(\d+)$/.exec(brokers.split(",")[0]!.trim())?.[1];
  try {
    return Number(readFileSync(join(repoRoot, ".data", `kafka-${port}`, "kafka.pid"), "utf8").trim()) || null;
  } catch {
    return null;
  }
}

export interface CpuSample {
  at: number;
  byPid: Map<number, number>;
  groups: Record<string, number[]>;
  machine: number;
  bench: number;
}

/**
 * CPU used by the processes of a run, by group: the service, the PostgreSQL backends serving the bench's
 * database (pg_stat_activity; the server must be on this machine), the local Kafka broker, this process.
 */
export class CpuMeter {
  constructor(private readonly groups: () => Promise<Record<string, number[]>>) {}

  async sample(): Promise<CpuSample> {
    const groups = await this.groups();
    const byPid = new Map<number, number>();
    for (const pids of Object.values(groups)) {
      for (const pid of pids) byPid.set(pid, processCpuSeconds(pid) ?? 0);
    }
    const own = process.cpuUsage();
    return {
      at: performance.now(),
      byPid,
      groups,
      machine: machineBusySeconds(),
      bench: (own.user + own.system) / 1e6,
    };
  }

  /** Cores used between two samples, by group, plus this process, the whole machine and the rest. */
  static cores(a: CpuSample, b: CpuSample): Record<string, number> {
    const seconds = (b.at - a.at) / 1000;
    const out: Record<string, number> = {};
    let known = 0;
    for (const [name, pids] of Object.entries(b.groups)) {
      let used = 0;
      for (const pid of pids) used += (b.byPid.get(pid) ?? 0) - (a.byPid.get(pid) ?? 0);
      out[name] = used / seconds;
      known += used;
    }
    out.bench = (b.bench - a.bench) / seconds;
    out.machine = (b.machine - a.machine) / seconds;
    out.others = Math.max(0, out.machine - out.bench - known / seconds);
    return out;
  }
}

/** Busy CPU time of the whole machine (all cores), seconds; from /proc/stat. */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / 100;
}

/** The machine and the software under test, for the head of a bench's output. */
export async function describeMachine(setup: BenchSetup): Promise<string> {
  const client = new pg.Client({ connectionString: setup.databaseUrl });
  await client.connect();
  const { rows } = await client.query<{ server_version: string }>("SHOW server_version");
  await client.end();
  const cpu = cpus();
  return [
    `machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown CPU"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB,` +
      ` load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")} at start`,
    `node ${process.version}, PostgreSQL ${rows[0]?.server_version} (${setup.database}), Kafka ${setup.brokers} (topics ${setup.topicPrefix}*)`,
  ].join("\n");
}

export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** The q-quantile of sorted values. */
export const quantile = (sorted: readonly number[], q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** Rows of cells as an aligned text table (first column left, the others right). */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows
    .map((r) =>
      r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "),
    )
    .join("\n");
}
