/**
 * The gateway simulator: provisions N gateways with M devices each in the registry, then streams their
 * telemetry to ingestion over HTTP, WebSocket or Kafka (see README.md).
 *
 *   node --import tsx tools/gateway-simulator/main.ts --gateways 3 --devices 2 --interval 5s --transport ws \
 *     [--backfill 2h] [--duration 60s]
 */
import { createPrivateKey } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { SiteState } from "@energy/simulation";
import {
  demoOperator,
  type Operator,
  type ProvisionedGateway,
  provision,
  simulatorDir,
} from "./provision.ts";
import { run, type StreamGateway } from "./runner.ts";
import { Stats } from "./stats.ts";
import { HttpTransport } from "./transports/http.ts";
import { KafkaTransport } from "./transports/kafka.ts";
import type { Transport } from "./transports/transport.ts";
import { WsTransport } from "./transports/ws.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `10s`, `5m`, `2h`, `1d`, or a plain number of seconds → ms. */
export function parseDuration(text: string, name: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new Error(`--${name} must be a duration such as 500ms, 10s, 5m or 2h (got "${text}")`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? "s"]!);
}

function positiveInt(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number >= 1 (got "${text}")`);
  return n;
}

export interface CliOptions {
  gateways: number;
  devices: number;
  intervalMs: number;
  transport: "http" | "ws" | "kafka";
  ingestionUrl: string;
  registryUrl: string;
  brokers: string;
  topicPrefix: string;
  durationMs: number | undefined;
  backfillMs: number;
  seed: string;
  window: number;
  batchItems: number;
  format: "json" | "ndjson";
  gzip: boolean;
  dataDir: string;
  fresh: boolean;
  operator: { org: string; identity: string; keyFile: string } | null;
  faults: { counterResetAfterMs?: number; gapAfterMs?: number; gapLengthMs?: number };
}

export const USAGE = `usage: node --import tsx tools/gateway-simulator/main.ts [options]
  --gateways N          simulated gateways (1)
  --devices M           devices per gateway (2): a hybrid inverter (PV, battery, meter), then an EV
                        charger on every other site, then extra PV inverters
  --interval 10s        time between readings of a device
  --transport http|ws|kafka   (http)
  --ingestion-url URL   (http://127.0.0.1:4002)
  --registry-url URL    (http://127.0.0.1:4001)
  --brokers LIST        Kafka brokers for --transport kafka (127.0.0.1:9092)
  --topic-prefix P      the platform's topic prefix, if any
  --duration 60s        stop after this long (default: run until SIGINT/SIGTERM)
  --backfill 2h         first send this much history, as fast as ingestion takes it
  --seed TEXT           the curves' seed (energy); the same seed gives the same readings
  --window N            batches in flight per gateway (8)
  --batch-items N       items per batch at most while catching up (500)
  --format json|ndjson  HTTP body format (json);  --gzip  compress HTTP bodies
  --data-dir DIR        the platform's data directory (.data); keys and ids in DIR/simulator
  --fresh               ignore saved progress: counters start again from the seed's values
  --org ID --operator ID --operator-key FILE   provision as this member (default: the demo user of .data)
  --reset-after 30m     inject a counter reset this long after the first reading
  --gap-after 20m --gap-length 5m              inject a gap in the readings`;

export function parseOptions(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      gateways: { type: "string", default: "1" },
      devices: { type: "string", default: "2" },
      interval: { type: "string", default: "10s" },
      transport: { type: "string", default: "http" },
      "ingestion-url": { type: "string", default: "http://127.0.0.1:4002" },
      "registry-url": { type: "string", default: "http://127.0.0.1:4001" },
      brokers: { type: "string", default: "127.0.0.1:9092" },
      "topic-prefix": { type: "string", default: "" },
      duration: { type: "string" },
      backfill: { type: "string", default: "0s" },
      seed: { type: "string", default: "energy" },
      window: { type: "string", default: "8" },
      "batch-items": { type: "string", default: "500" },
      format: { type: "string", default: "json" },
      gzip: { type: "boolean", default: false },
      "data-dir": { type: "string", default: join(root, ".data") },
      fresh: { type: "boolean", default: false },
      org: { type: "string" },
      operator: { type: "string" },
      "operator-key": { type: "string" },
      "reset-after": { type: "string" },
      "gap-after": { type: "string" },
      "gap-length": { type: "string", default: "5m" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  const transport = values.transport;
  if (transport !== "http" && transport !== "ws" && transport !== "kafka") {
    throw new Error(`--transport must be http, ws or kafka (got "${transport}")`);
  }
  if (values.format !== "json" && values.format !== "ndjson") {
    throw new Error(`--format must be json or ndjson (got "${values.format}")`);
  }
  const operatorFlags = [values.org, values.operator, values["operator-key"]];
  if (operatorFlags.some(Boolean) && !operatorFlags.every(Boolean)) {
    throw new Error("--org, --operator and --operator-key go together");
  }
  const intervalMs = parseDuration(values.interval, "interval");
  if (intervalMs < 1) throw new Error("--interval must be at least 1ms");
  return {
    gateways: positiveInt(values.gateways, "gateways"),
    devices: positiveInt(values.devices, "devices"),
    intervalMs,
    transport,
    ingestionUrl: values["ingestion-url"].replace(/\/$/, ""),
    registryUrl: values["registry-url"].replace(/\/$/, ""),
    brokers: values.brokers,
    topicPrefix: values["topic-prefix"],
    durationMs: values.duration === undefined ? undefined : parseDuration(values.duration, "duration"),
    backfillMs: parseDuration(values.backfill, "backfill"),
    seed: values.seed,
    window: positiveInt(values.window, "window"),
    batchItems: positiveInt(values["batch-items"], "batch-items"),
    format: values.format,
    gzip: values.gzip,
    dataDir: resolve(values["data-dir"]),
    fresh: values.fresh,
    operator:
      values.org && values.operator && values["operator-key"]
        ? { org: values.org, identity: values.operator, keyFile: values["operator-key"] }
        : null,
    faults: {
      ...(values["reset-after"] !== undefined
        ? { counterResetAfterMs: parseDuration(values["reset-after"], "reset-after") }
        : {}),
      ...(values["gap-after"] !== undefined
        ? {
            gapAfterMs: parseDuration(values["gap-after"], "gap-after"),
            gapLengthMs: parseDuration(values["gap-length"], "gap-length"),
          }
        : {}),
    },
  };
}

// --- progress: where each gateway's site stopped, so a restart continues its counters -------------------

interface SavedProgress {
  /** The site plan the state belongs to (a different seed or device count starts afresh). */
  plan: string;
  state: SiteState;
}

const planKey = (gateway: ProvisionedGateway) => `${gateway.plan.seed}|${gateway.plan.devices.length}`;

function readProgress(file: string): Record<string, SavedProgress> {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return {};
  }
}

function makeTransport(opts: CliOptions): Transport {
  switch (opts.transport) {
    case "http":
      return new HttpTransport({ ingestionUrl: opts.ingestionUrl, format: opts.format, gzip: opts.gzip });
    case "ws":
      return new WsTransport({ ingestionUrl: opts.ingestionUrl });
    case "kafka":
      return new KafkaTransport({ brokers: opts.brokers, topicPrefix: opts.topicPrefix });
  }
}

/** Provisions, retrying while the registry is not reachable yet (it may be starting). */
async function provisionWhenReachable(opts: CliOptions, operator: Operator, say: (m: string) => void) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await provision({
        registryUrl: opts.registryUrl,
        dataDir: opts.dataDir,
        gateways: opts.gateways,
        devices: opts.devices,
        seed: opts.seed,
        operator,
        log: say,
      });
    } catch (error) {
      const unreachable = /unreachable|answered 5\d\d/.test((error as Error).message);
      if (!unreachable || Date.now() > deadline) throw error;
      say(`registry not reachable yet (${(error as Error).message}); retrying`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  const say = (message: string) => console.log(`[simulator] ${message}`);
  const operator: Operator = opts.operator
    ? {
        orgId: opts.operator.org,
        identityId: opts.operator.identity,
        privateKey: createPrivateKey(readFileSync(opts.operator.keyFile)),
      }
    : demoOperator(opts.dataDir);

  say(
    `provisioning ${opts.gateways} gateway(s) × ${opts.devices} device(s) in ${opts.registryUrl} ` +
      `for organization ${operator.orgId}`,
  );
  const provisioned = await provisionWhenReachable(opts, operator, say);
  for (const g of provisioned) {
    const ders = Object.entries(g.derIds)
      .map(([key, id]) => `${key}=${id}`)
      .join(" ");
    say(`${g.gatewayId}: site ${g.siteId} (${g.plan.location.city}), ${ders}`);
    say(`  twin: ${opts.ingestionUrl}/organizations/${g.orgId}/sites/${g.siteId}/twin`);
  }

  const progressFile = join(simulatorDir(opts.dataDir), "progress.json");
  const progress = opts.fresh ? {} : readProgress(progressFile);
  const resume = new Map<string, SiteState>();
  for (const g of provisioned) {
    const saved = progress[g.gatewayId];
    if (saved && saved.plan === planKey(g)) resume.set(g.gatewayId, saved.state);
  }
  let dirty = false;
  const saveProgress = () => {
    if (!dirty) return;
    dirty = false;
    writeFileSync(`${progressFile}.tmp`, `${JSON.stringify(progress)}\n`);
    renameSync(`${progressFile}.tmp`, progressFile);
  };

  const gateways: StreamGateway[] = provisioned.map((g) => ({
    ...g,
    token: () => g.tokens.token(),
    renewToken: () => g.tokens.renew(),
  }));
  const transport = makeTransport(opts);
  const stats = new Stats();
  const controller = new AbortController();
  let signals = 0;
  const stop = (signal: string) => {
    if (++signals > 1) process.exit(130);
    say(`${signal}: stopping (batches in flight get 5 s)`);
    controller.abort();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));

  const now = Date.now();
  const start = Math.floor((now - opts.backfillMs) / opts.intervalMs) * opts.intervalMs;
  say(
    `streaming over ${transport.name} every ${opts.intervalMs / 1000} s` +
      (opts.backfillMs ? `, from ${new Date(start).toISOString()} (backfill)` : "") +
      (resume.size ? `; ${resume.size} gateway(s) continue their saved counters` : "") +
      (opts.durationMs !== undefined ? `; for ${opts.durationMs / 1000} s` : ""),
  );
  const printed = new Set<string>();
  const report = () => {
    say(stats.line());
    for (const [reason, count] of stats.reasons) {
      if (printed.has(reason) || printed.size >= 20) continue;
      printed.add(reason);
      say(`  ${reason} (${count}×)`);
    }
    saveProgress();
  };
  const ticker = setInterval(report, 10_000);
  try {
    await run({
      gateways,
      transport,
      intervalMs: opts.intervalMs,
      start,
      resume,
      until: opts.durationMs !== undefined ? Date.now() + opts.durationMs : undefined,
      window: opts.window,
      batchItems: opts.batchItems,
      stats,
      signal: controller.signal,
      faults: opts.faults,
      onProgress: (gatewayId, state) => {
        const gateway = provisioned.find((g) => g.gatewayId === gatewayId)!;
        progress[gatewayId] = { plan: planKey(gateway), state };
        dirty = true;
      },
    });
  } finally {
    clearInterval(ticker);
    report();
    say(stats.summary());
    await transport.close().catch(() => {});
  }
  const { sent, accepted } = stats.totals;
  return sent > 0 && accepted === 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    console.error(`[simulator] ${(error as Error).message}`);
    process.exitCode = 2;
  }
  // kafkajs and sockets may keep timers alive a little; the work is done.
  setTimeout(() => process.exit(), 1_000).unref();
}
