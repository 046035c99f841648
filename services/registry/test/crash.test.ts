import { generateKeyPairSync } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { topics } from "@energy/contracts";
import { type ServiceProcess, spawnService, topicsOf } from "@energy/service-kit/testing";
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
import { registry } from "../src/service.ts";

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const SITE_TOPIC = topics.registrySite.name;

describe("every change appears once on its topic, in order per entity, even when the service is killed mid-request", () => {
  let database: TestDatabase;
  let testKafka: TestKafka;
  let db: Db;
  let env: Record<string, string>;
  let token: string;
  const children: ServiceProcess[] = [];
  /** The registry's real server.ts on the test database and topic prefix (its liveness consumer too). */
  const startChild = (e: Record<string, string>) => spawnService(serviceDir, e);

  beforeAll(async () => {
    [database, testKafka] = await Promise.all([
      createTestDatabase({ cwd: serviceDir }),
      createTestKafka({ topics: topicsOf(registry).map((t) => t.name) }),
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
    await Promise.all(children.map((c) => c.kill()));
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
    children.push(first);
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
    await first.kill();
    const outcomes = await Promise.all(creates);
    await updates;
    // An update in flight at the kill may have committed without its answer: go on from what is stored.
    const stored = await db.site.findUniqueOrThrow({ where: { id: trackedId } });
    version = Number(stored.name.slice(1));
    expect(outcomes.filter((o) => o === "failed").length).toBeGreaterThan(0); // really killed mid-way

    // A second process on the same database resumes the outbox; a few more updates go through it.
    const second = await startChild(env);
    children.push(second);
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
  }, 90_000);
});
