/**
 * Bulk CSV onboarding: 100,000 valid D-REC rows uploaded over real HTTP to the registry started in this
 * process on a fresh copy of its database and the Kafka broker; polls the job until done, then waits for
 * the outbox relay to publish every device.registered.
 *
 *   node --import tsx bench/bulk-import.ts [--n 100000]
 *
 * TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres), KAFKA_BROKERS (default
 * 127.0.0.1:9092). Prints figures; asserts nothing (goal: 100,000 rows in under 60 s).
 *
 * The baseline, measured in the same run (the machine is shared and noisy): raw PostgreSQL `COPY … FROM STDIN`
 * of the same device rows (the ones the import wrote) into a table like `device` (same columns, keys and
 * indexes), through psql; the import's time is printed as a ratio to it.
 */
import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureTopics } from "@energy/infra/topics";
import { startService } from "@energy/service-kit";
import { topicsOf } from "@energy/service-kit/testing";
import { createTestDatabase } from "@energy/testing";
import jwt from "jsonwebtoken";
import { ConfigSchema } from "../src/config.ts";
import { IMPORT_COLUMNS } from "../src/imports/rows.ts";
import { registry } from "../src/service.ts";

const args = process.argv.slice(2);
const i = args.indexOf("--n");
const N = i >= 0 ? Number(args[i + 1]) : 100_000;

process.env.TEST_POSTGRES_URL ??= "postgresql://postgres@127.0.0.1:5432/postgres";
const brokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const prefix = `bench${randomBytes(4).toString("hex")}.`;

const database = await createTestDatabase({ cwd: serviceDir });
await ensureTopics({
  brokers,
  prefix,
  only: topicsOf(registry).map((t) => t.name),
});
const jwtKeys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const config = ConfigSchema.parse({
  NODE_ENV: "test",
  LOG_LEVEL: "warn",
  DATABASE_URL: database.url,
  KAFKA_BROKERS: brokers,
  KAFKA_TOPIC_PREFIX: prefix,
  JWT_PUBLIC_KEY: jwtKeys.publicKey.export({ type: "spki", format: "pem" }).toString(),
  JWT_PRIVATE_KEY: jwtKeys.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
});
// The registry as server.ts runs it (same declaration and runtime), on the bench's database and topics.
const service = await startService(registry, { config });
const { db } = service.ctx;
const app = service.app;
const base = await app.listen({ port: 0, host: "127.0.0.1" });

await db.identity.create({ data: { id: "usr-bench", type: "user", name: "Bench" } });
const token = jwt.sign({ typ: "user" }, jwtKeys.privateKey, {
  algorithm: "ES256",
  subject: "usr-bench",
  issuer: config.JWT_ISSUER,
  audience: config.JWT_AUDIENCE,
  expiresIn: "1h",
});
async function call<T>(method: string, path: string, body: string, contentType = "application/json") {
  const res = await fetch(base + path, {
    method,
    headers: { "content-type": contentType, authorization: `Bearer ${token}` },
    body: method === "GET" ? undefined : body,
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
const org = await call<{ id: string }>(
  "POST",
  "/organizations",
  JSON.stringify({ name: "Bench", kind: "developer" }),
);
const site = await call<{ id: string }>(
  "POST",
  `/organizations/${org.id}/sites`,
  JSON.stringify({ name: "Bench site", timezone: "UTC" }),
);

const lines = [IMPORT_COLUMNS.join(",")];
for (let n = 1; n <= N; n++) {
  const row: Record<string, string> = {
    version: "v2.0",
    externalId: `BENCH-${n}`,
    orgId: org.id,
    deviceOEM: "SCHNDLR",
    address: `"Moo ${n % 20}, Soi ${n}, Bangkok"`,
    latitude: String(13 + (n % 1000) / 1000),
    longitude: String(100 + (n % 1000) / 1000),
    countryCode: "TH",
    postalCode: "10240",
    fuelCode: "ES100",
    deviceTypeCode: "TC110",
    capacity: String(1 + (n % 50)),
    commissioningDate: "2020-01-01",
    gridInterconnection: "true",
    energyStorage: n % 3 === 0 ? "yes" : "no",
    energyStorageCapacity: n % 3 === 0 ? "10" : "",
    offTaker: "School",
    qualityLabels: "Label 1",
    SDGBenefits: "7;13",
    impactStory: "",
    images: "a.png;b.png",
  };
  lines.push(IMPORT_COLUMNS.map((c) => row[c] ?? "").join(","));
}
const content = `${lines.join("\n")}\n`;
console.log(`generated ${N} rows, ${(Buffer.byteLength(content) / 1024 / 1024).toFixed(1)} MiB`);

const t0 = performance.now();
const accepted = await call<{ jobId: string; totalRows: number }>(
  "POST",
  `/organizations/${org.id}/imports?siteId=${site.id}&deviceType=inverter`,
  content,
  "text/csv",
);
const tAccepted = performance.now();
type Job = {
  status: string;
  doneRows: number;
  createdRows: number;
  refusedRows: number;
  error: string | null;
};
let job: Job;
for (;;) {
  job = await call<Job>("GET", `/organizations/${org.id}/imports/${accepted.jobId}`, "");
  if (job.status === "done" || job.status === "failed") break;
  await new Promise((resolve) => setTimeout(resolve, 200));
}
const tDone = performance.now();
while ((await db.outboxMessage.count({ where: { sentAt: null } })) > 0) {
  await new Promise((resolve) => setTimeout(resolve, 200));
}
const tDrained = performance.now();

const seconds = (ms: number) => (ms / 1000).toFixed(2);
console.log(`upload answered (202) in ${seconds(tAccepted - t0)} s`);
console.log(
  `job ${job.status}: ${job.doneRows} rows (${job.createdRows} created, ${job.refusedRows} refused)${job.error ? ` error: ${job.error}` : ""}`,
);
console.log(
  `import: ${seconds(tDone - t0)} s total, ${Math.round((job.doneRows * 1000) / (tDone - t0))} rows/s`,
);
console.log(
  `outbox drained ${seconds(tDrained - tDone)} s after the job was done (${seconds(tDrained - t0)} s from upload)`,
);

/** Runs psql on the bench database: its stdout, given stdin. */
function psql(sql: string, stdin = ""): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", database.url, "-c", sql], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0
        ? resolve(Buffer.concat(out).toString())
        : reject(new Error(`psql failed (${code}): ${err}`)),
    );
    child.stdin.end(stdin);
  });
}
const rows = await psql(`COPY (SELECT * FROM device WHERE org_id = '${org.id}') TO STDOUT`);
await psql("CREATE TABLE baseline_device (LIKE device INCLUDING ALL)");
const tCopy = performance.now();
await psql("COPY baseline_device FROM STDIN", rows);
const copyMs = performance.now() - tCopy;
await psql("DROP TABLE baseline_device");
console.log(
  `baseline: COPY of the same ${job.createdRows} device rows ${seconds(copyMs)} s, ` +
    `${Math.round((job.createdRows * 1000) / copyMs)} rows/s; the import took ${((tDone - t0) / copyMs).toFixed(1)}× as long`,
);

await service.stop();
await database.drop();
