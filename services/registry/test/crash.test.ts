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
import { IMPORT_COLUMNS } from "../src/imports/rows.ts";
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

  it("an import killed mid-file resumes in the next process: each row imported once, each device announced once", async () => {
    const first = await startChild(env);
    children.push(first);
    const org = await request(`${first.url}/organizations`, "POST", {
      name: "Import Org",
      kind: "developer",
    });
    const orgId = org.json.id;
    const site = await request(`${first.url}/organizations/${orgId}/sites`, "POST", {
      name: "Farm",
      timezone: "Asia/Bangkok",
    });
    const rows = 12_000;
    const cells: Record<string, (n: number) => string> = {
      version: () => "v2.0",
      externalId: (n) => `KILL-${n}`,
      deviceOEM: () => "SCHNDLR",
      latitude: (n) => String(13 + (n % 1000) / 1000),
      longitude: (n) => String(100 + (n % 1000) / 1000),
      countryCode: () => "TH",
      fuelCode: () => "ES100",
      deviceTypeCode: () => "TC110",
      capacity: (n) => String(1 + (n % 50)),
      commissioningDate: () => "2020-01-01",
    };
    const lines = [IMPORT_COLUMNS.join(",")];
    for (let n = 1; n <= rows; n++) lines.push(IMPORT_COLUMNS.map((c) => cells[c]?.(n) ?? "").join(","));
    const res = await fetch(
      `${first.url}/organizations/${orgId}/imports?siteId=${site.json.id}&deviceType=inverter`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "text/csv" },
        body: `${lines.join("\n")}\n`,
      },
    );
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };

    // killed once the first chunk (2,500 rows) is committed, the rest of the file still to import
    const deadline = Date.now() + 60_000;
    while (((await db.importJob.findUnique({ where: { id: jobId } }))?.doneRows ?? 0) === 0) {
      if (Date.now() > deadline) throw new Error("the import did not start");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await first.kill();
    const killed = await db.importJob.findUniqueOrThrow({ where: { id: jobId }, omit: { content: true } });
    expect(killed).toMatchObject({ status: "running", totalRows: rows });
    expect(killed.doneRows).toBeLessThan(rows); // really killed mid-way

    const second = await startChild(env);
    children.push(second);
    const finished = Date.now() + 90_000;
    for (;;) {
      const job = await db.importJob.findUniqueOrThrow({ where: { id: jobId }, omit: { content: true } });
      if (job.status === "done" || job.status === "failed") {
        expect(job).toMatchObject({ status: "done", doneRows: rows, createdRows: rows, refusedRows: 0 });
        break;
      }
      if (Date.now() > finished) throw new Error(`the import did not finish: ${JSON.stringify(job)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const devices = await db.device.findMany({ where: { orgId }, select: { id: true, externalId: true } });
    expect(devices).toHaveLength(rows);
    expect(new Set(devices.map((d) => d.externalId)).size).toBe(rows);
    const outcomes = await db.importRow.groupBy({ by: ["outcome"], where: { jobId }, _count: true });
    expect(outcomes).toEqual([{ outcome: "created", _count: rows }]);
    // one device.registered per device in the outbox (the relay publishes each once, as the test above shows)
    const registered = await db.outboxMessage.findMany({
      where: { topic: topics.registryDevice.name, type: "device.registered" },
      select: { key: true },
    });
    expect(registered).toHaveLength(rows);
    expect(new Set(registered.map((m) => m.key))).toEqual(new Set(devices.map((d) => d.id)));
  }, 180_000);
});
