/**
 * The OCPP charger simulator:
 *
 *   node --import tsx tools/ocpp-simulator/main.ts [--chargers 4] [--versions 1.6,2.0.1] [--connectors 1]
 *     [--ocpp-url http://127.0.0.1:4003] [--registry-url http://127.0.0.1:4001] [--data-dir .data]
 *     [--meter-interval 10s] [--idle 30s] [--session 2m] [--id-tag SIM-TAG]
 *     [--wss-url wss://localhost:4443 --ca .data/tls/ca.crt]
 *
 * With --wss-url, every second round of versions (chargers 3 and 4 of 1.6,2.0.1,1.6,2.0.1) connects over
 * TLS (OCPP security profile 2: the server's certificate checked against --ca, Basic auth as on ws).
 * Provisions the chargers in the demo organization (tools/dev.ts makes it; see provision.ts), adds the id
 * tag to the organization's list, then runs them: versions alternate in the order given.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { demoOperator, RegistryClient, TokenSource } from "../gateway-simulator/provision.ts";
import { SimulatedCharger, type Version } from "./charger.ts";
import { provisionChargers } from "./provision.ts";

const duration = (text: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text} (e.g. 500ms, 10s, 2m)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
  return Number(m[1]) * unit;
};

const { values } = parseArgs({
  options: {
    chargers: { type: "string", default: "4" },
    versions: { type: "string", default: "1.6,2.0.1" },
    connectors: { type: "string", default: "1" },
    "ocpp-url": { type: "string", default: "http://127.0.0.1:4003" },
    "registry-url": { type: "string", default: "http://127.0.0.1:4001" },
    "data-dir": { type: "string", default: ".data" },
    "meter-interval": { type: "string", default: "10s" },
    idle: { type: "string", default: "30s" },
    session: { type: "string", default: "2m" },
    "id-tag": { type: "string", default: "SIM-TAG" },
    "wss-url": { type: "string" },
    ca: { type: "string" },
  },
});

const dataDir = resolve(values["data-dir"]);
const cycle = values.versions.split(",").map((v) => v.trim()) as Version[];
for (const v of cycle)
  if (v !== "1.6" && v !== "2.0.1") throw new Error(`--versions: ${v} is not 1.6 or 2.0.1`);
const count = Number(values.chargers);
const versions = Array.from({ length: count }, (_, i) => cycle[i % cycle.length]!);
const operator = demoOperator(dataDir);
const log = (message: string) => console.log(`[ocpp-simulator] ${message}`);

const wssUrl = values["wss-url"];
if (wssUrl && !values.ca)
  throw new Error("--wss-url needs --ca (the CA that signed the server's certificate)");
const ca = wssUrl && values.ca ? readFileSync(values.ca) : undefined;
/** every second round of versions over TLS (security profile 2), when a wss endpoint is given */
const overTls = (i: number) => ca !== undefined && Math.floor(i / cycle.length) % 2 === 1;

const chargers = await provisionChargers({
  registryUrl: values["registry-url"],
  ocppUrl: values["ocpp-url"],
  dataDir,
  operator,
  versions,
  // the ones over wss are set to security profile 2: the central system refuses them over plain ws
  securityProfiles: versions.map((_, i) => (overTls(i) ? 2 : 1)),
  connectors: Number(values.connectors),
  log,
});
// The id tag the simulated drivers use, on the organization's list.
const registry = new RegistryClient(values["registry-url"]);
const token = await new TokenSource(registry, operator.identityId, operator.privateKey).token();
await new RegistryClient(values["ocpp-url"]).request(
  "PUT",
  `/v1/orgs/${operator.orgId}/id-tags/${encodeURIComponent(values["id-tag"])}`,
  { body: { status: "Accepted" }, token },
);

const endpoint = `${values["ocpp-url"].replace(/^http/, "ws")}/ocpp`;
const endpointOf = (i: number) => (overTls(i) ? `${wssUrl!.replace(/\/$/, "")}/ocpp` : endpoint);
const running = chargers.map(
  (c, i) =>
    new SimulatedCharger({
      endpoint: endpointOf(i),
      ...(overTls(i) ? { ca } : {}),
      identity: c.chargePointId,
      password: c.password,
      version: c.version,
      connectors: Number(values.connectors),
      meterIntervalMs: duration(values["meter-interval"]),
      heartbeatMs: 60_000,
      idleMs: duration(values.idle),
      sessionMs: duration(values.session),
      idTag: values["id-tag"],
      powerW: 11_000,
      log,
    }),
);
await Promise.all(running.map((c) => c.start()));
log(
  `running ${running.length} chargers against ${endpoint}${ca ? ` and ${endpointOf(cycle.length)}` : ""}: ${chargers
    .map((c, i) => `${c.chargePointId} (${c.version}${overTls(i) ? ", wss" : ""})`)
    .join(", ")}`,
);
console.log(`[ocpp-simulator] state in ${join(dataDir, "ocpp-simulator")}`);

const stop = async () => {
  await Promise.allSettled(running.map((c) => c.stop()));
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
