import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { catalog } from "@energy/contracts";
import { ANVIL_KEYS, type Anvil, startAnvil } from "@energy/infra/anvil";
import { type ServiceProcess, spawnService } from "@energy/service-kit/testing";
import { createTestDatabase, createTestKafka, type TestDatabase, waitFor } from "@energy/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certificateDemo, DEMO_BUYER_ADDRESS } from "../../tools/demo-certificate.ts";

// The start command's certificate demo (tools/demo-certificate.ts) against the real registry, meter-read,
// reservation and certificate processes: it registers its device through the registry, its read is
// stored by meter-read and reaches reservation, and the buyer's reservation is accepted; run again it
// finds what it made. (The mint itself waits for the reads' hour to close: value-chain.test.ts covers it.)

const serviceDir = (name: string) => fileURLToPath(new URL(`../../services/${name}`, import.meta.url));
const SERVICES = ["registry", "meter-read", "reservation", "certificate"] as const;
type ServiceName = (typeof SERVICES)[number];
const OWNERS = new Set<string>([...SERVICES, "ingestion"]);

let anvil: Anvil | undefined;
const databases: Partial<Record<ServiceName, TestDatabase>> = {};
const processes: Partial<Record<ServiceName, ServiceProcess>> = {};
const dataDir = mkdtempSync(join(tmpdir(), "demo-certificate-"));
const pem = (key: KeyObject, type: "spki" | "pkcs8") => key.export({ type, format: "pem" }).toString();

async function post(url: string, body: unknown, token?: string) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${url} answered ${res.status}: ${await res.text()}`);
  // biome-ignore lint/suspicious/noExplicitAny: each call reads the fields of its own answer
  return (await res.json()) as any;
}

/** challenge, signed nonce, verify: as a client of the registry logs in */
async function login(identityId: string, key: KeyObject): Promise<string> {
  const registry = processes.registry!.url;
  const challenge = await post(`${registry}/auth/challenge`, { identityId });
  const signature = sign(null, Buffer.from(challenge.nonce, "utf8"), key).toString("base64url");
  return (
    await post(`${registry}/auth/verify`, { challengeId: challenge.challengeId, identityId, signature })
  ).accessToken;
}

async function rows(service: ServiceName, sql: string, params: unknown[]) {
  const client = new pg.Client({ connectionString: databases[service]!.url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const root = generateKeyPairSync("ed25519");
beforeAll(async () => {
  try {
    anvil = await startAnvil();
  } catch (error) {
    throw new Error(`anvil (npm @foundry-rs/anvil) could not be started: ${(error as Error).message}`);
  }
  const [testKafka, ...dbs] = await Promise.all([
    createTestKafka({ topics: catalog.filter((t) => OWNERS.has(t.owner)).map((t) => t.name) }),
    ...SERVICES.map((s) => createTestDatabase({ cwd: serviceDir(s) })),
  ]);
  SERVICES.forEach((s, i) => {
    databases[s] = dbs[i];
  });
  const jwt = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const common = {
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    KAFKA_BROKERS: testKafka.brokers,
    KAFKA_TOPIC_PREFIX: testKafka.topicPrefix,
    JWT_PUBLIC_KEY: pem(jwt.publicKey, "spki"),
  };
  const env: Record<ServiceName, Record<string, string>> = {
    registry: { JWT_PRIVATE_KEY: pem(jwt.privateKey, "pkcs8"), ROOT_PUBLIC_KEY: pem(root.publicKey, "spki") },
    "meter-read": {},
    reservation: {},
    certificate: { CHAIN_RPC_URL: anvil.url, ISSUER_PRIVATE_KEY: ANVIL_KEYS[0], CONFIRMATIONS: "1" },
  };
  await Promise.all(
    SERVICES.map(async (s) => {
      processes[s] = await spawnService(
        serviceDir(s),
        { ...common, ...env[s], DATABASE_URL: databases[s]!.url },
        { timeoutMs: 120_000 },
      );
    }),
  );
}, 240_000);

afterAll(async () => {
  await Promise.allSettled(Object.values(processes).map((p) => p.kill()));
  await Promise.allSettled(Object.values(databases).map((d) => d.drop()));
  await anvil?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the start command's certificate demo", () => {
  it("registers its device, posts its read and reserves it for the demo buyer; again, finds them", async () => {
    // What dev.ts's demo() makes first: root registers the demo user, who creates the developer organization.
    const registry = processes.registry!.url;
    const user = generateKeyPairSync("ed25519");
    const identity = await post(
      `${registry}/identities`,
      { type: "user", name: "Demo User", publicKey: pem(user.publicKey, "spki") },
      await login("root", root.privateKey),
    );
    const token = await login(identity.id, user.privateKey);
    const org = await post(
      `${registry}/organizations`,
      { name: "Demo Energy Co-op", kind: "developer" },
      token,
    );
    const opts = {
      dataDir,
      developerOrgId: org.id,
      token,
      urls: {
        registry,
        meterRead: processes["meter-read"]!.url,
        reservation: processes.reservation!.url,
        certificate: processes.certificate!.url,
      },
    };

    const lines = await certificateDemo(opts);
    const state = JSON.parse(readFileSync(join(dataDir, "demo-certificate.json"), "utf8"));
    expect(lines[0]).toContain(state.reservationId);
    expect(lines[1]).toContain(`${opts.urls.certificate}/organizations/${state.buyerOrgId}/certificates`);
    expect(lines[2]).toContain(`closes at ${state.windowEnd}`);
    const [read] = await rows("meter-read", "SELECT energy_wh FROM meter_read WHERE device_id = $1", [
      state.deviceId,
    ]);
    expect(Number(read.energy_wh)).toBe(2_500);
    const [reservation] = await rows(
      "reservation",
      "SELECT buyer_org_id, buyer_address, status FROM reservation WHERE id = $1",
      [state.reservationId],
    );
    expect(reservation).toMatchObject({
      buyer_org_id: state.buyerOrgId,
      buyer_address: DEMO_BUYER_ADDRESS,
      status: "active",
    });
    // meter-read published the read and reservation holds it, to be claimed when its window closes
    await waitFor(
      "reservation to hold the demo read",
      async () =>
        (
          await rows("reservation", "SELECT energy_wh FROM meter_read WHERE device_id = $1", [state.deviceId])
        )[0]?.energy_wh === "2500",
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    // A second start: nothing made again, the same reservation told.
    expect(await certificateDemo(opts)).toEqual(lines);
    expect(await rows("reservation", "SELECT id FROM reservation", [])).toHaveLength(1);
  });
});
