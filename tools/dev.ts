/**
 * The local launcher: the whole platform on this machine, no Docker needed.
 *
 *   node tools/dev.ts start    Kafka (KRaft, from Maven jars), topics, per-service databases and
 *                              migrations, every service in services/, a demo organization, and (when
 *                              ingestion runs) the gateway simulator streaming demo telemetry; prints URLs,
 *                              each with the `pnpm energy` command that opens it with the demo user's token
 *                              An anvil chain (npm @foundry-rs/anvil) on 127.0.0.1:8545 for the certificate
 *                              service, its state kept in .data/anvil; the service deploys its contract once.
 *                              The certificate demo (demo-certificate.ts): demo reads, a demo buyer's
 *                              hourly reservation, its certificate minted once the reads' hour has closed.
 *                              OCPP over TLS (security profile 2): a local CA and a server certificate for
 *                              localhost / 127.0.0.1 made with openssl in .data/tls (infra/tls), served by
 *                              ocpp on wss://localhost:4443; half of the simulated chargers connect there.
 *   node tools/dev.ts stop     stops the simulator, the services, anvil and Kafka
 *   node tools/dev.ts status   what runs where
 *
 * Run through `bash tools/platform.sh start|stop|status`, which first installs the toolchain.
 * State lives in .data/ (git-ignored): Kafka's log dirs, service logs and pids, the dev signing keys,
 * and the mail the platform sends (a local SMTP catcher keeps it as .eml files in .data/mail).
 */
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiClient, keyLogin, LOCAL_PORTS, readPrivateKey } from "@energy/client";
import { topics } from "@energy/contracts";
import { ANVIL_KEYS, anvilBinary } from "../infra/anvil/anvil.ts";
import { isUp, startKafka, stopKafka } from "../infra/kafka/kafka.ts";
import { ensureTopics } from "../infra/kafka/topics.ts";
import { bootstrapDatabases, DEFAULT_POSTGRES_URL, redact } from "../infra/postgres/postgres.ts";
import { type DevCertificates, ensureDevCertificates } from "../infra/tls/tls.ts";
import { certificateDemo } from "./demo-certificate.ts";
import { demoOperator, type ProvisionedGateway, provision } from "./gateway-simulator/provision.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dataDir = join(root, ".data");
const runDir = join(dataDir, "run");
const KAFKA_PORT = Number(process.env.KAFKA_PORT ?? 9092);
const BROKERS = `127.0.0.1:${KAFKA_PORT}`;
const POSTGRES_URL = process.env.POSTGRES_URL ?? DEFAULT_POSTGRES_URL;
const MAIL_PORT = Number(process.env.MAIL_PORT ?? 1025);
const ANVIL_PORT = Number(process.env.ANVIL_PORT ?? 8545);
/** ocpp's wss port (OCPP security profile 2), with the certificate made in .data/tls. */
const OCPP_TLS_PORT = Number(process.env.OCPP_TLS_PORT ?? 4443);
/** meter-read's young generation (services/meter-read/README.md, "Running it"); docker-compose.yml sets the same. */
const METER_READ_NODE_OPTIONS = "--max-semi-space-size=32";

/** Where each service listens locally (the same ports as docker-compose.yml). */
/** Each service's local port: the one list the `energy` CLI uses too (@energy/client). */
const PORTS: Record<string, number> = LOCAL_PORTS;

const say = (msg: string) => console.log(`\x1b[1;32m[platform]\x1b[0m ${msg}`);

function services(): string[] {
  const dir = join(root, "services");
  return readdirSync(dir)
    .filter((name) => {
      const pkg = join(dir, name, "package.json");
      return existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).scripts?.start;
    })
    .sort();
}

/** A key pair made once and kept in .data/keys (PEM): the registry's ES256 token key, the dev root and demo user. */
function devKeyPair(name: string, type: "ec" | "ed25519"): { privateKey: string; publicKey: string } {
  const dir = join(dataDir, "keys");
  const priv = join(dir, `${name}.key`);
  const pub = join(dir, `${name}.pub`);
  if (!existsSync(priv)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const keys =
      type === "ec" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("ed25519");
    writeFileSync(priv, keys.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    writeFileSync(pub, keys.publicKey.export({ type: "spki", format: "pem" }));
  }
  return { privateKey: readFileSync(priv, "utf8"), publicKey: readFileSync(pub, "utf8") };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pidFile(service: string): string {
  return join(runDir, `${service}.pid`);
}

function runningPid(service: string): number | null {
  const file = pidFile(service);
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8"));
  return alive(pid) ? pid : null;
}

async function waitReady(service: string, url: string, logFile: string, pid: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!alive(pid)) {
      const tail = readFileSync(logFile, "utf8").split("\n").slice(-20).join("\n");
      throw new Error(`${service} exited during start-up; its log (${logFile}) ends with:\n${tail}`);
    }
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${service} was not ready within 60 s (log: ${logFile})`);
}

/** Starts a node process that outlives this launcher; its output goes to .data/run/<name>.log. */
function spawnDetached(name: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  mkdirSync(runDir, { recursive: true });
  const logFile = join(runDir, `${name}.log`);
  const out = openSync(logFile, "a");
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ["ignore", out, out],
  });
  child.unref();
  writeFileSync(pidFile(name), String(child.pid));
  return { pid: child.pid!, logFile };
}

async function startService(service: string, env: Record<string, string>): Promise<string> {
  const port = PORTS[service];
  if (!port) throw new Error(`no port assigned to service "${service}" in tools/dev.ts`);
  const url = `http://127.0.0.1:${port}`;
  if (runningPid(service)) return url;
  const { pid, logFile } = spawnDetached(service, ["src/server.ts"], join(root, "services", service), {
    ...env,
    PORT: String(port),
    HOST: "127.0.0.1",
  });
  await waitReady(service, url, logFile, pid);
  return url;
}

/** A real SMTP server that keeps mail as .eml files in .data/mail (tools/mail-catcher.ts). */
async function startMailCatcher(): Promise<string> {
  const url = `smtp://127.0.0.1:${MAIL_PORT}`;
  if (runningPid("mail")) return url;
  const { pid, logFile } = spawnDetached(
    "mail",
    ["tools/mail-catcher.ts", "--port", String(MAIL_PORT), "--dir", join(dataDir, "mail")],
    root,
  );
  const deadline = Date.now() + 15_000;
  while (!(await portOpen(MAIL_PORT))) {
    if (!alive(pid) || Date.now() > deadline)
      throw new Error(`the mail catcher did not start (log: ${logFile})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return url;
}

/**
 * The local chain: anvil from the npm package, detached, its state dumped to .data/anvil/state.json on
 * stop and loaded on start (so the certificate registry and its tokens survive a restart).
 */
async function startChain(): Promise<string> {
  const url = `http://127.0.0.1:${ANVIL_PORT}`;
  if (runningPid("anvil")) return url;
  const stateDir = join(dataDir, "anvil");
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(runDir, { recursive: true });
  const logFile = join(runDir, "anvil.log");
  const out = openSync(logFile, "a");
  const args = ["--host", "127.0.0.1", "--port", String(ANVIL_PORT), "--state", join(stateDir, "state.json")];
  const child = spawn(anvilBinary(), args, { detached: true, stdio: ["ignore", out, out] });
  child.unref();
  writeFileSync(pidFile("anvil"), String(child.pid));
  const deadline = Date.now() + 15_000;
  while (!(await portOpen(ANVIL_PORT))) {
    if (!alive(child.pid!) || Date.now() > deadline) throw new Error(`anvil did not start (log: ${logFile})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return url;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function call<T>(url: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** Logs an identity in with its key, the way every client does (packages/client: challenge, sign, verify). */
async function login(registryUrl: string, identityId: string, privateKeyPem: string): Promise<string> {
  return (await keyLogin(new ApiClient(registryUrl), identityId, readPrivateKey(privateKeyPem))).accessToken;
}

/**
 * The demo: root (its key in .data/keys/root-ed25519.key) registers a demo user (.data/keys/demo-user.key),
 * who logs in and creates a demo organization. Done once; kept in .data/demo.json.
 */
async function demo(registryUrl: string, rootPrivateKey: string): Promise<{ userId: string; orgId: string }> {
  const marker = join(dataDir, "demo.json");
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, "utf8"));
  let rootToken: string;
  try {
    rootToken = await login(registryUrl, "root", rootPrivateKey);
  } catch (error) {
    throw new Error(
      `could not log in as root with .data/keys/root-ed25519.key (${(error as Error).message}). ` +
        "The registry's database may have been set up by another checkout with another root key: " +
        "drop the database energy_registry or point POSTGRES_URL at another server.",
    );
  }
  const user = devKeyPair("demo-user", "ed25519");
  const identity = await call<{ id: string }>(
    `${registryUrl}/identities`,
    { type: "user", name: "Demo User", publicKey: user.publicKey },
    rootToken,
  );
  const userToken = await login(registryUrl, identity.id, user.privateKey);
  const org = await call<{ id: string }>(
    `${registryUrl}/organizations`,
    { name: "Demo Energy Co-op", kind: "developer" },
    userToken,
  );
  const result = { userId: identity.id, orgId: org.id };
  writeFileSync(marker, JSON.stringify(result, null, 2));
  return result;
}

/** The demo telemetry: what tools/gateway-simulator plays (see its README.md). */
const SIMULATOR = { gateways: 2, devices: 2, transport: "ws", interval: "10s", backfill: "1h" } as const;

/**
 * Provisions the simulated gateways of the demo organization (idempotent; ids kept in .data/simulator),
 * then starts the simulator detached, streaming to ingestion. Returns the provisioned gateways.
 */
async function startSimulator(registryUrl: string, ingestionUrl: string): Promise<ProvisionedGateway[]> {
  const gateways = await provision({
    registryUrl,
    dataDir,
    gateways: SIMULATOR.gateways,
    devices: SIMULATOR.devices,
    seed: "energy",
    operator: demoOperator(dataDir),
  });
  if (runningPid("simulator")) return gateways;
  const args = [
    ...["tools/gateway-simulator/main.ts", "--gateways", String(SIMULATOR.gateways)],
    ...["--devices", String(SIMULATOR.devices), "--transport", SIMULATOR.transport],
    ...["--interval", SIMULATOR.interval, "--backfill", SIMULATOR.backfill, "--seed", "energy"],
    ...["--registry-url", registryUrl, "--ingestion-url", ingestionUrl, "--data-dir", dataDir],
  ];
  const { pid, logFile } = spawnDetached("simulator", args, root);
  // It provisions again (finding everything) and starts streaming within seconds; a fault shows at once.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const log = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
    if (!alive(pid)) {
      const tail = log.split("\n").slice(-20).join("\n");
      throw new Error(
        `the gateway simulator exited during start-up; its log (${logFile}) ends with:\n${tail}`,
      );
    }
    if (log.includes("streaming over") || Date.now() > deadline) return gateways;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The demo chargers: what tools/ocpp-simulator plays, a few of each OCPP version. */
const CHARGERS = {
  count: 4,
  versions: "1.6,2.0.1",
  meterInterval: "10s",
  idle: "20s",
  session: "2m",
} as const;

/**
 * Starts the OCPP charger simulator detached: it provisions the demo chargers in the registry (devices of
 * type ev_charger with an ev_charger_port DER each), sets their passwords through the ocpp service, and
 * runs them. Resolves once they run (or the log says why not).
 */
async function startChargers(
  registryUrl: string,
  ocppUrl: string,
  tls: { url: string; caFile: string } | null,
): Promise<string> {
  const args = [
    ...["tools/ocpp-simulator/main.ts", "--chargers", String(CHARGERS.count)],
    ...["--versions", CHARGERS.versions, "--meter-interval", CHARGERS.meterInterval],
    ...["--idle", CHARGERS.idle, "--session", CHARGERS.session],
    ...["--registry-url", registryUrl, "--ocpp-url", ocppUrl, "--data-dir", dataDir],
    ...(tls ? ["--wss-url", tls.url, "--ca", tls.caFile] : []),
  ];
  if (!runningPid("chargers")) {
    const previous = join(runDir, "chargers.log");
    const from = existsSync(previous) ? readFileSync(previous, "utf8").length : 0;
    const { pid, logFile } = spawnDetached("chargers", args, root);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const log = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(from) : "";
      const line = log.split("\n").find((l) => l.includes("running "));
      if (line) return line.replace("[ocpp-simulator] ", "");
      if (!alive(pid)) {
        throw new Error(
          `the charger simulator exited; its log (${logFile}) ends with:\n${log.split("\n").slice(-20).join("\n")}`,
        );
      }
      if (Date.now() > deadline) return "still starting (see .data/run/chargers.log)";
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  return "already running";
}

async function start(): Promise<void> {
  say(`Kafka on ${BROKERS} (Apache Kafka 4.1.1, KRaft, from Maven Central jars)…`);
  await startKafka({ port: KAFKA_PORT });
  await ensureTopics({ brokers: BROKERS });
  say(`PostgreSQL at ${redact(POSTGRES_URL)}: one database per service, migrations…`);
  const databases = await bootstrapDatabases(POSTGRES_URL);
  const smtpUrl = await startMailCatcher();
  say(`anvil on 127.0.0.1:${ANVIL_PORT} (local EVM chain, state in .data/anvil)…`);
  const chainUrl = await startChain();
  const keys = devKeyPair("jwt-es256", "ec");
  const rootKeys = devKeyPair("root-ed25519", "ed25519");
  // OCPP security profile 2: a local CA and a server certificate (openssl; without it, no wss port)
  let certs: DevCertificates | null = null;
  let tlsNote = "";
  try {
    certs = ensureDevCertificates(join(dataDir, "tls"), { hosts: ["localhost", "127.0.0.1"] });
  } catch (error) {
    tlsNote = (error as Error).message;
  }
  const urls: Record<string, string> = {};
  for (const service of services()) {
    const env: Record<string, string> = {
      KAFKA_BROKERS: BROKERS,
      JWT_PUBLIC_KEY: keys.publicKey,
      LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
      NODE_ENV: "development",
    };
    if (databases[service]) env.DATABASE_URL = databases[service];
    if (service === "meter-read") {
      // Batches of 10,000 reads: V8's default 16 MB young generation is collected ~3× as often (README).
      env.NODE_OPTIONS = [process.env.NODE_OPTIONS, METER_READ_NODE_OPTIONS].filter(Boolean).join(" ");
    }
    if (service === "registry") {
      Object.assign(env, {
        JWT_PRIVATE_KEY: keys.privateKey,
        ROOT_PUBLIC_KEY: rootKeys.publicKey,
        SMTP_URL: smtpUrl,
      });
    }
    if (service === "ocpp" && certs) {
      Object.assign(env, {
        OCPP_TLS_PORT: String(OCPP_TLS_PORT),
        OCPP_TLS_CERT_FILE: certs.certFile,
        OCPP_TLS_KEY_FILE: certs.keyFile,
      });
    }
    if (service === "certificate") {
      // anvil's first dev account issues (public key material: local chains only).
      // anvil mines a block per transaction: one block makes a certificate confirmed (the demo's included).
      Object.assign(env, { CHAIN_RPC_URL: chainUrl, ISSUER_PRIVATE_KEY: ANVIL_KEYS[0], CONFIRMATIONS: "1" });
    }
    say(`starting ${service}…`);
    urls[service] = await startService(service, env);
  }
  const demoInfo = urls.registry ? await demo(urls.registry, rootKeys.privateKey) : null;
  let simulated: ProvisionedGateway[] | null = null;
  let simulatorNote = "";
  if (!demoInfo || !urls.registry) simulatorNote = "not started: no registry and demo organization";
  else if (!urls.ingestion) simulatorNote = "not started: services/ingestion is not there yet";
  else {
    say("gateway simulator: provisioning the demo gateways, then streaming to ingestion…");
    try {
      simulated = await startSimulator(urls.registry, urls.ingestion);
    } catch (error) {
      simulatorNote = `not started: ${(error as Error).message}`;
    }
  }
  if (simulatorNote) say(`gateway simulator ${simulatorNote}`);
  // The value chain: demo reads → a demo buyer's reservation → a certificate on anvil (tools/demo-certificate.ts).
  let certificateLines: string[] = [];
  if (demoInfo && urls.registry && urls["meter-read"] && urls.reservation && urls.certificate) {
    say("certificate demo: demo reads, a demo buyer's reservation, its certificate on anvil…");
    try {
      const token = await login(
        urls.registry,
        demoInfo.userId,
        devKeyPair("demo-user", "ed25519").privateKey,
      );
      certificateLines = await certificateDemo({
        dataDir,
        developerOrgId: demoInfo.orgId,
        token,
        urls: {
          registry: urls.registry,
          meterRead: urls["meter-read"],
          reservation: urls.reservation,
          certificate: urls.certificate,
        },
      });
    } catch (error) {
      certificateLines = [`not set up: ${(error as Error).message}`];
    }
  }
  let chargers = "";
  if (demoInfo && urls.registry && urls.ocpp) {
    say("charger simulator: provisioning the demo chargers, then running them against ocpp…");
    try {
      const tls = certs ? { url: `wss://localhost:${OCPP_TLS_PORT}`, caFile: certs.caFile } : null;
      chargers = await startChargers(urls.registry, urls.ocpp, tls);
    } catch (error) {
      chargers = `not started: ${(error as Error).message}`;
    }
  }

  // Next to a URL that needs a token, the command that opens it with the demo user's (packages/cli).
  const open = (service: string, path: string) =>
    `${"".padEnd(15)}open: pnpm energy api GET ${path}${service === "registry" ? "" : ` --service ${service}`}`;
  console.log("\nThe platform is running:\n");
  for (const [service, url] of Object.entries(urls)) {
    console.log(`  ${service.padEnd(12)} ${url}   API docs ${url}/docs   metrics ${url}/metrics`);
  }
  console.log(
    `  ${"kafka".padEnd(12)} ${BROKERS}   topics: node infra/kafka/topics.ts lists them in infra/kafka/topics.yaml`,
  );
  console.log(
    `${"".padEnd(15)}tail: pnpm energy tail ${topics.registryDevice.name} --brokers ${BROKERS} (energy tail --list)`,
  );
  console.log(
    `  ${"postgres".padEnd(12)} ${redact(POSTGRES_URL)}   databases: ${Object.keys(databases)
      .map((s) => `energy_${s.replaceAll("-", "_")}`)
      .join(", ")}`,
  );
  console.log(`  ${"mail".padEnd(12)} ${smtpUrl}   mails kept in .data/mail/*.eml`);
  if (demoInfo) {
    console.log(
      `  ${"demo".padEnd(12)} organization ${demoInfo.orgId}, owner ${demoInfo.userId} ` +
        "(its Ed25519 key: .data/keys/demo-user.key; root's: .data/keys/root-ed25519.key)",
    );
    console.log(
      `${"".padEnd(15)}log in (once; the token renews itself): ` +
        "pnpm energy login --key .data/keys/demo-user.key",
    );
    console.log(open("registry", `/organizations/${demoInfo.orgId}`));
  }
  if (simulated) {
    const { gateways, devices, transport, interval, backfill } = SIMULATOR;
    console.log(
      `  ${"simulator".padEnd(12)} ${gateways} gateways × ${devices} devices → ingestion over ${transport} every ` +
        `${interval} (${backfill} backfill first); log .data/run/simulator.log, ids in .data/simulator/state.json`,
    );
    for (const g of simulated) {
      console.log(
        `  ${"".padEnd(12)} ${g.gatewayId} (${g.plan.location.city}) twin: ` +
          `${urls.ingestion}/organizations/${g.orgId}/sites/${g.siteId}/twin`,
      );
      console.log(open("ingestion", `/organizations/${g.orgId}/sites/${g.siteId}/twin`));
      // Its solar DERs' half-hours become telemetry meter reads once ingestion publishes them.
      const inverter = g.deviceIds.inverter;
      if (urls["meter-read"] && inverter) {
        console.log(
          `  ${"".padEnd(12)} meter reads: ${urls["meter-read"]}/organizations/${g.orgId}/devices/${inverter}/reads`,
        );
        console.log(open("meter-read", `/organizations/${g.orgId}/devices/${inverter}/reads`));
      }
    }
  }
  for (const [i, line] of certificateLines.entries()) {
    console.log(`  ${(i === 0 ? "certificate" : "").padEnd(12)} ${line}`);
  }
  if (chargers) {
    console.log(`  ${"chargers".padEnd(12)} ${chargers}`);
    if (demoInfo && urls.ocpp) {
      console.log(
        `  ${"".padEnd(12)} chargers, connectors, sessions: ${urls.ocpp}/v1/orgs/${demoInfo.orgId}/chargers ` +
          `(bearer token of the demo user); their readings reach ingestion's twins; log .data/run/chargers.log`,
      );
      console.log(open("ocpp", `/v1/orgs/${demoInfo.orgId}/chargers`));
    }
  }
  if (urls.ocpp) {
    console.log(
      certs
        ? `  ${"ocpp tls".padEnd(12)} wss://localhost:${OCPP_TLS_PORT}/ocpp/<chargePointId> (security profile 2, ` +
            `Basic auth); chargers trust ${certs.caFile}`
        : `  ${"ocpp tls".padEnd(12)} not started: ${tlsNote}`,
    );
  }
  console.log(`\n  logs: .data/run/<service>.log and .data/kafka-${KAFKA_PORT}/kafka.log`);
  console.log("  stop: bash tools/platform.sh stop\n");
}

async function stop(): Promise<void> {
  // The simulator first, so it does not report the services going away.
  for (const service of ["simulator", "chargers", ...services(), "anvil", "mail"]) {
    const pid = runningPid(service);
    if (pid) {
      process.kill(pid, "SIGTERM");
      const deadline = Date.now() + 15_000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (alive(pid)) process.kill(pid, "SIGKILL");
      say(`${service} stopped`);
    }
    rmSync(pidFile(service), { force: true });
  }
  await stopKafka({ port: KAFKA_PORT });
  say("Kafka stopped");
}

async function status(): Promise<void> {
  console.log(`kafka       ${(await isUp(BROKERS)) ? `up on ${BROKERS}` : "down"}`);
  for (const service of services()) {
    const pid = runningPid(service);
    console.log(
      `${service.padEnd(12)}${pid ? `up (pid ${pid}) on http://127.0.0.1:${PORTS[service]}` : "down"}`,
    );
  }
  const simulator = runningPid("simulator");
  console.log(
    `${"simulator".padEnd(12)}${simulator ? `up (pid ${simulator}), log .data/run/simulator.log` : "down"}`,
  );
  const anvil = runningPid("anvil");
  console.log(
    `${"anvil".padEnd(12)}${anvil ? `up (pid ${anvil}) on http://127.0.0.1:${ANVIL_PORT}` : "down"}`,
  );
  const mail = runningPid("mail");
  console.log(`${"mail".padEnd(12)}${mail ? `up (pid ${mail}) on smtp://127.0.0.1:${MAIL_PORT}` : "down"}`);
}

const command = process.argv[2] ?? "status";
const commands: Record<string, () => Promise<void>> = { start, stop, status };
const run = commands[command];
if (!run) {
  console.error("usage: node tools/dev.ts start|stop|status");
  process.exitCode = 2;
} else {
  try {
    await run();
  } catch (error) {
    console.error(`\x1b[1;31m[platform]\x1b[0m ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
