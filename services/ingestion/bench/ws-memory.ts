/**
 * Memory of the ingestion service with 10,000 connected WebSocket gateways: the service runs as a child
 * process; the sockets are opened by `--processes` other child processes (bench/ws-clients.ts), one per
 * gateway identity (its own ES256 token), each sending one small batch and waiting for its answer, then
 * idling. Reports the service's RSS (/proc/<pid>/status) and V8 heap (its /metrics) before connecting,
 * with every gateway connected, and per connection; the time to connect them all; and whether all are
 * still connected after `--idle` seconds (the service pings every 30 s).
 *
 *   node --import tsx bench/ws-memory.ts [--gateways 10000] [--processes 2] [--concurrency 200] [--idle 30]
 *
 * POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres) names the server (the bench uses
 * its own database energy_ingestion_bench_ws, dropped at the end); KAFKA_BROKERS (default 127.0.0.1:9092).
 * The registry projection is seeded by inserting its rows (one site, device and meter DER per gateway).
 */
import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import {
  describeMachine,
  flag,
  mib,
  numberOption,
  prepare,
  type SeedGateway,
  type ServiceChild,
  seedProjection,
  serviceDir,
  sleep,
  startService,
  table,
  teardown,
} from "./harness.ts";
import type { ClientsOptions, FromClients, ToClients } from "./ws-clients.ts";

const GATEWAYS = numberOption("gateways", 10_000);
const PROCESSES = Math.max(1, numberOption("processes", 2));
const CONCURRENCY = Math.max(1, numberOption("concurrency", 200));
const IDLE_S = numberOption("idle", 30);
const KEEP_DATABASE = flag("keep-database");

interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

async function memoryOf(service: ServiceChild): Promise<Memory> {
  const { rss } = service.memory();
  const metrics = await service.metrics();
  const metric = (name: string) => {
    for (const [key, value] of metrics) if (key === name || key.startsWith(`${name}{`)) return value;
    return Number.NaN;
  };
  return {
    rss,
    heapUsed: metric("nodejs_heap_size_used_bytes"),
    heapTotal: metric("nodejs_heap_size_total_bytes"),
    external: metric("nodejs_external_memory_bytes"),
  };
}

/** Sends a command to a clients process and waits for its answer of the given kind. */
function ask<K extends FromClients["kind"]>(
  child: ChildProcess,
  message: ToClients,
  kind: K,
): Promise<Extract<FromClients, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (answer: FromClients) => {
      if (answer.kind !== kind) return;
      child.off("message", onMessage);
      child.off("exit", onExit);
      resolve(answer as Extract<FromClients, { kind: K }>);
    };
    const onExit = (code: number | null) => reject(new Error(`a clients process exited (${code})`));
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send(message);
  });
}

const setup = await prepare("energy_ingestion_bench_ws");
let service: ServiceChild | undefined;
const children: ChildProcess[] = [];
try {
  const seed: SeedGateway[] = Array.from({ length: GATEWAYS }, (_, i) => ({
    gatewayId: `zap-ws-${i}`,
    devices: [{ deviceId: `dev-ws-${i}`, type: "meter", ders: [{ derId: `der-ws-${i}`, derType: "meter" }] }],
  }));
  await seedProjection(setup.databaseUrl, seed);
  service = await startService(setup);
  console.log("ingestion WebSocket memory bench");
  console.log(await describeMachine(setup));
  console.log(
    `service: pid ${service.pid}, ${service.url}; ${GATEWAYS} gateways (projection seeded by inserting rows into ` +
      `${setup.database}), sockets opened by ${PROCESSES} child processes, ${CONCURRENCY} handshakes at a time each`,
  );

  await sleep(3_000); // let start-up settle (partitions, consumer groups)
  const before = await memoryOf(service);

  const started = performance.now();
  const cpuStarted = service.cpuSeconds();
  const per = Math.ceil(GATEWAYS / PROCESSES);
  const connected = await Promise.all(
    Array.from({ length: PROCESSES }, (_, p) => {
      const child = fork(join(serviceDir, "bench", "ws-clients.ts"), [], {
        cwd: serviceDir,
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      children.push(child);
      const opts: ClientsOptions = {
        url: service!.url,
        privateKeyPem: setup.privateKeyPem,
        from: p * per,
        to: Math.min(GATEWAYS, (p + 1) * per),
        concurrency: CONCURRENCY,
      };
      return ask(child, { cmd: "connect", opts }, "connected");
    }),
  );
  const connectMs = performance.now() - started;
  const connectCores = (service.cpuSeconds() - cpuStarted) / (connectMs / 1000);
  const open = connected.reduce((n, c) => n + c.open, 0);
  const failed = connected.reduce((n, c) => n + c.failed, 0);
  await sleep(5_000); // answers written, buffers settled
  const withAll = await memoryOf(service);

  await sleep(Math.max(0, IDLE_S * 1000 - 5_000));
  const status = await Promise.all(children.map((child) => ask(child, { cmd: "status" }, "status")));
  const stillOpen = status.reduce((n, s) => n + s.open, 0);
  const pings = status.reduce((n, s) => n + s.pings, 0);
  const afterIdle = await memoryOf(service);

  const n = Math.max(1, open);
  const perConnection = (a: number, b: number) => `${((b - a) / n / 1024).toFixed(1)} KiB`;
  const row = (name: string, pick: (m: Memory) => number) => [
    name,
    mib(pick(before)),
    mib(pick(withAll)),
    mib(pick(afterIdle)),
    `${perConnection(pick(before), pick(withAll))} / ${perConnection(pick(before), pick(afterIdle))}`,
  ];
  console.log(
    `\nconnected ${open} of ${GATEWAYS} gateways (each: upgrade with its token, one batch, its answer) in ` +
      `${(connectMs / 1000).toFixed(2)} s (${Math.round((open * 1000) / connectMs)}/s; service CPU ` +
      `${connectCores.toFixed(2)} cores meanwhile); ${failed} failed`,
  );
  for (const c of connected) for (const e of c.errors) console.log(`  failed: ${e}`);
  console.log(
    table([
      [
        "service memory",
        "before",
        `${open} connected`,
        `after ${IDLE_S} s idle`,
        "per connection (connected / idle)",
      ],
      row("RSS (/proc VmRSS)", (m) => m.rss),
      row("V8 heap used (/metrics)", (m) => m.heapUsed),
      row("V8 heap total (/metrics)", (m) => m.heapTotal),
      row("external memory (/metrics)", (m) => m.external),
    ]),
  );
  console.log(
    `after ${IDLE_S} s: ${stillOpen} of ${open} still connected${stillOpen === open ? " (all)" : ""}; ` +
      `${pings} server pings answered by the clients; peak RSS ${mib(service.memory().peakRss)}`,
  );
} finally {
  for (const child of children) {
    if (child.connected) child.send({ cmd: "close" } satisfies ToClients);
  }
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
          child.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ),
  );
  await service?.stop();
  await teardown(setup, KEEP_DATABASE);
  if (KEEP_DATABASE) console.log(`database ${setup.database} kept`);
}
