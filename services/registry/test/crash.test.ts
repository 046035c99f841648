import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createTestDatabase,
  createTestKafka,
  readTopic,
  type TestDatabase,
  type TestKafka,
} from "@energy/testing";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigSchema } from "../src/config.ts";
import { createDb, type Db } from "../src/db.ts";

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const SITE_TOPIC = "registry.site.v1";

/** A registry process (test/fixtures/registry-process.ts) on the test database and topic prefix. */
async function startChild(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/registry-process.ts"], {
    cwd: serviceDir,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`registry did not start: ${stderr}`)), 30_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`registry exited with ${code}: ${stderr}`));
    });
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

describe("every change appears once on its topic, in order per entity, even when the service is killed mid-request", () => {
  let database: TestDatabase;
  let testKafka: TestKafka;
  let db: Db;
  let env: NodeJS.ProcessEnv;
  let token: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    [database, testKafka] = await Promise.all([
      createTestDatabase({ cwd: serviceDir }),
      createTestKafka({ topics: ["registry.organization.v1", "registry.membership.v1", SITE_TOPIC] }),
    ]);
    const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
    env = {
      NODE_ENV: "test",
      LOG_LEVEL: "fatal",
      DATABASE_URL: database.url,
      KAFKA_BROKERS: testKafka.brokers,
      KAFKA_TOPIC_PREFIX: testKafka.topicPrefix,
      JWT_PUBLIC_KEY: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
      JWT_PRIVATE_KEY: keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    };
    db = createDb(database.url);
    await db.identity.create({ data: { id: "usr-owner", type: "user", name: "Owner" } });
    const config = ConfigSchema.parse(env);
    token = jwt.sign({ typ: "user" }, keys.privateKey, {
      algorithm: "ES256",
      subject: "usr-owner",
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      expiresIn: "5m",
    });
  });
  afterAll(async () => {
    await Promise.all(children.map(killed));
    await db?.$disconnect();
    await database?.drop();
  });

  async function request(url: string, method: string, body: unknown) {
    const res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as { id: string; name: string } };
  }

  it("publishes each committed site once (none for rolled-back requests) and one site's updates in order", async () => {
    const first = await startChild(env);
    children.push(first.child);
    const org = await request(`${first.url}/organizations`, "POST", { name: "Crash Org", kind: "developer" });
    expect(org.status).toBe(201);
    const orgId = org.json.id;
    const sites = `/organizations/${orgId}/sites`;
    const tracked = await request(`${first.url}${sites}`, "POST", { name: "v0", timezone: "UTC" });
    expect(tracked.status).toBe(201);
    const trackedId = tracked.json.id;

    // 50 concurrent creates and a stream of updates of one site; the process is killed mid-way.
    let answered = 0;
    const creates = Array.from({ length: 50 }, (_, i) =>
      request(`${first.url}${sites}`, "POST", { name: `site ${i}`, timezone: "Europe/Stockholm" }).then(
        (res) => {
          answered++;
          return res.status === 201 ? res.json.id : `status ${res.status}`;
        },
        () => "failed" as const,
      ),
    );
    let version = 0;
    const updates = (async () => {
      for (;;) {
        try {
          const res = await request(`${first.url}${sites}/${trackedId}`, "PATCH", {
            name: `v${version + 1}`,
          });
          if (res.status !== 200) return;
          version++;
        } catch {
          return;
        }
      }
    })();
    const deadline = Date.now() + 10_000;
    while (answered < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
    await killed(first.child);
    const outcomes = await Promise.all(creates);
    await updates;
    // An update in flight at the kill may have committed without its answer: go on from what is stored.
    const stored = await db.site.findUniqueOrThrow({ where: { id: trackedId } });
    version = Number(stored.name.slice(1));
    expect(outcomes.filter((o) => o === "failed").length).toBeGreaterThan(0); // really killed mid-way

    // A second process on the same database resumes the outbox; a few more updates go through it.
    const second = await startChild(env);
    children.push(second.child);
    for (let i = 0; i < 3; i++) {
      const res = await request(`${second.url}${sites}/${trackedId}`, "PATCH", { name: `v${version + 1}` });
      expect(res.status).toBe(200);
      version++;
    }
    const drained = Date.now() + 10_000;
    while ((await db.outboxMessage.count({ where: { sentAt: null } })) > 0) {
      if (Date.now() > drained) throw new Error("outbox not drained");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const inDatabase = await db.site.findMany({ where: { orgId }, select: { id: true, name: true } });
    const expected = await db.outboxMessage.count({ where: { topic: SITE_TOPIC } });
    const messages = await readTopic(testKafka.kafka, `${testKafka.topicPrefix}${SITE_TOPIC}`, {
      count: expected,
      settleMs: 1_000,
    });
    // A relay killed between publishing and marking publishes a batch again under the same envelope
    // ids (at-least-once delivery; consumers drop copies by id): one change is one envelope id.
    const seen = new Set<string>();
    const events = messages
      .map((m) => ({
        key: m.key!,
        envelope: JSON.parse(m.headers.envelope!) as { id: string; type: string },
        payload: JSON.parse(m.value!) as { siteId: string; name: string },
      }))
      .filter((e) => !seen.has(e.envelope.id) && seen.add(e.envelope.id));
    expect(events).toHaveLength(expected);

    const created = events.filter((e) => e.envelope.type === "site.created").map((e) => e.payload.siteId);
    expect(new Set(created).size).toBe(created.length); // no site created twice
    expect(created.sort()).toEqual(inDatabase.map((s) => s.id).sort()); // none lost, none rolled back
    const acknowledged = outcomes.filter((o) => o.startsWith("sit-"));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const id of acknowledged) expect(created).toContain(id); // every 201 was published

    const trackedNames = events.filter((e) => e.key === trackedId).map((e) => e.payload.name);
    expect(trackedNames).toEqual(Array.from({ length: version + 1 }, (_, i) => `v${i}`));
    expect(inDatabase.find((s) => s.id === trackedId)?.name).toBe(`v${version}`);
  }, 30_000);
});
