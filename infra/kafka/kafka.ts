/**
 * A real Apache Kafka broker for local runs and tests: single node, KRaft mode,
 * from Apache Kafka's own jars on Maven Central (pinned in infra/kafka/pom.xml).
 *
 *   node infra/kafka/kafka.ts start [--port 9092]   resolve jars, format storage once, start, wait until it answers
 *   node infra/kafka/kafka.ts stop  [--port 9092]   stop it cleanly (SIGTERM, then wait)
 *   node infra/kafka/kafka.ts status [--port 9092]
 *
 * Data lives in .data/kafka-<port>/ at the repository root (git-ignored).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../..");
const libsDir = join(here, ".cache", "libs");

export interface LocalKafka {
  brokers: string;
  port: number;
  dataDir: string;
}

function dataDirFor(port: number): string {
  return join(repoRoot, ".data", `kafka-${port}`);
}

/** Copies the broker's jars from Maven Central into infra/kafka/.cache/libs (once). */
export function ensureJars(): void {
  if (existsSync(join(libsDir, "kafka_2.13-4.1.1.jar"))) return;
  console.error("[kafka] resolving Apache Kafka 4.1.1 jars from Maven Central (first run only)…");
  execFileSync("mvn", ["-B", "-q", "-f", join(here, "pom.xml"), "dependency:copy-dependencies"], {
    stdio: ["ignore", "inherit", "inherit"],
  });
}

function serverProperties(port: number, dataDir: string): string {
  const controllerPort = port + 1;
  return `${[
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    "controller.listener.names=CONTROLLER",
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${join(dataDir, "logs")}`,
    "num.partitions=3",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    "auto.create.topics.enable=true",
    "log.retention.hours=168",
  ].join("\n")}\n`;
}

function java(args: string[], opts: { heap?: string } = {}): string[] {
  return [
    `-Xmx${opts.heap ?? "512m"}`,
    `-Xms${opts.heap ?? "512m"}`,
    "-XX:+UseG1GC",
    `-Dlog4j2.configurationFile=${join(here, "log4j2.yaml")}`,
    "-cp",
    `${libsDir}/*`,
    ...args,
  ];
}

function pidOf(dataDir: string): number | null {
  const file = join(dataDir, "kafka.pid");
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8").trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** True when a broker answers metadata requests on 127.0.0.1:<port>. */
export async function isUp(brokers: string, timeoutMs = 3000): Promise<boolean> {
  const admin = new Kafka({
    clientId: "infra-probe",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function waitUntilUp(brokers: string, pid: number, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isUp(brokers, 1000)) return;
    try {
      process.kill(pid, 0);
    } catch {
      const tail = existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-30).join("\n") : "";
      throw new Error(`Kafka exited during start-up; last log lines (${logFile}):\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Kafka did not answer on ${brokers} within ${timeoutMs} ms (log: ${logFile})`);
}

/** Starts the broker on 127.0.0.1:<port> unless one already answers there. Idempotent. */
export async function startKafka(opts: { port?: number; heap?: string } = {}): Promise<LocalKafka> {
  const port = opts.port ?? 9092;
  const brokers = `127.0.0.1:${port}`;
  const dataDir = dataDirFor(port);
  if (await isUp(brokers, 1000)) return { brokers, port, dataDir };

  ensureJars();
  mkdirSync(dataDir, { recursive: true });
  const props = join(dataDir, "server.properties");
  writeFileSync(props, serverProperties(port, dataDir));
  if (!existsSync(join(dataDir, "logs", "meta.properties"))) {
    const clusterId = execFileSync(
      "java",
      java(["kafka.tools.StorageTool", "random-uuid"], { heap: "128m" }),
      {
        encoding: "utf8",
      },
    ).trim();
    execFileSync(
      "java",
      java(["kafka.tools.StorageTool", "format", "-t", clusterId, "-c", props, "--ignore-formatted"], {
        heap: "128m",
      }),
      { stdio: ["ignore", "ignore", "inherit"] },
    );
  }
  const logFile = join(dataDir, "kafka.log");
  const out = openSync(logFile, "a");
  const child = spawn("java", java(["kafka.Kafka", props], { heap: opts.heap }), {
    detached: true,
    stdio: ["ignore", out, out],
  });
  child.unref();
  if (!child.pid) throw new Error("could not spawn java for Kafka");
  writeFileSync(join(dataDir, "kafka.pid"), String(child.pid));
  await waitUntilUp(brokers, child.pid, logFile, 90_000);
  return { brokers, port, dataDir };
}

/** Stops the broker started by startKafka on <port> and waits for it to exit. */
export async function stopKafka(opts: { port?: number; wipe?: boolean } = {}): Promise<void> {
  const port = opts.port ?? 9092;
  const dataDir = dataDirFor(port);
  const pid = pidOf(dataDir);
  if (pid) {
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && pidOf(dataDir)) await new Promise((r) => setTimeout(r, 200));
    if (pidOf(dataDir)) process.kill(pid, "SIGKILL");
  }
  rmSync(join(dataDir, "kafka.pid"), { force: true });
  if (opts.wipe) rmSync(dataDir, { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command = "status", ...rest] = process.argv.slice(2);
  const portArg = rest.indexOf("--port");
  const port = portArg >= 0 ? Number(rest[portArg + 1]) : Number(process.env.KAFKA_PORT ?? 9092);
  if (command === "start") {
    const k = await startKafka({ port });
    console.log(`Kafka is up on ${k.brokers} (data: ${k.dataDir})`);
  } else if (command === "stop") {
    await stopKafka({ port, wipe: rest.includes("--wipe") });
    console.log(`Kafka on 127.0.0.1:${port} stopped`);
  } else if (command === "status") {
    const up = await isUp(`127.0.0.1:${port}`);
    console.log(up ? `Kafka answers on 127.0.0.1:${port}` : `no Kafka on 127.0.0.1:${port}`);
    process.exitCode = up ? 0 : 1;
  } else {
    console.error("usage: node infra/kafka/kafka.ts start|stop|status [--port N] [--wipe]");
    process.exitCode = 2;
  }
}
