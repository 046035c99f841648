import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { topicsOf } from "@energy/service-kit/testing";
import {
  createTestDatabase,
  createTestKafka,
  type TestDatabase,
  type TestKafka,
  waitFor,
} from "@energy/testing";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDb, createDb, type Db } from "../src/db.ts";
import { ingestion } from "../src/service.ts";
import { seedSite } from "./helpers.ts";

// The real service (src/server.ts) in a child process, SIGKILLed twice while gateways send batches.
// Gateways resend what was not acknowledged (as real ones do). Afterwards every acknowledged reading
// is stored exactly once and every DER's half-hours add up to its counter difference: nothing lost,
// nothing counted twice.

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const DERS = ["der-c1", "der-c2", "der-c3", "der-c4"];
const GATEWAY = "gw-crash";
const BATCHES_PER_DER = 40;
const PER_BATCH = 25;
const START = Date.now() - 2 * 24 * 3_600_000;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Reading i of a DER: every 20 s, the counter going up 5 Wh per reading. */
const reading = (derId: string, i: number) => ({
  derId,
  reading: { type: "pv", timestamp: START + i * 20_000, W: -900, total_generation_Wh: 10_000 + 5 * i },
});

describe("the service killed under load", () => {
  let database: TestDatabase;
  let testKafka: TestKafka;
  let db: Db;
  let env: NodeJS.ProcessEnv;
  let token: string;
  let child: ChildProcess | undefined;
  let port: number;

  async function start() {
    child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
      cwd: serviceDir,
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await waitFor(
      `the service to answer /readyz (${stderr.slice(-500)})`,
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  }

  function kill(): Promise<void> {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      running.once("exit", () => resolve());
      running.kill("SIGKILL");
    });
  }

  beforeAll(async () => {
    [database, testKafka] = await Promise.all([
      createTestDatabase({ cwd: serviceDir }),
      createTestKafka({ topics: topicsOf(ingestion).map((t) => t.name) }),
    ]);
    db = createDb(database.url);
    await seedSite(db, {
      orgId: "org-c",
      siteId: "site-c",
      deviceId: "dev-c",
      gatewayId: GATEWAY,
      ders: Object.fromEntries(DERS.map((d) => [d, "solar"])),
    });
    const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
    port = await freePort();
    env = {
      NODE_ENV: "test",
      LOG_LEVEL: "fatal",
      PORT: String(port),
      DATABASE_URL: database.url,
      KAFKA_BROKERS: testKafka.brokers,
      KAFKA_TOPIC_PREFIX: testKafka.topicPrefix,
      JWT_PUBLIC_KEY: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    };
    token = jwt.sign({ typ: "gateway" }, keys.privateKey, {
      algorithm: "ES256",
      subject: GATEWAY,
      issuer: "energy-registry",
      audience: "energy-platform",
      expiresIn: "10m",
    });
    await start();
  });
  afterAll(async () => {
    await kill();
    if (db) await closeDb(db);
    await database?.drop();
  });

  it("loses no acknowledged reading and counts none twice", async () => {
    const acknowledged = new Set<string>();
    let refusedConnections = 0;
    /** One gateway connection per DER, sending its batches in order and resending until acknowledged. */
    const sender = async (derId: string) => {
      for (let b = 0; b < BATCHES_PER_DER; b++) {
        const items = Array.from({ length: PER_BATCH }, (_, k) => reading(derId, b * PER_BATCH + k));
        for (;;) {
          try {
            const res = await fetch(`http://127.0.0.1:${port}/v1/telemetry`, {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: JSON.stringify(items),
            });
            if (res.ok && ((await res.json()) as { accepted: number }).accepted === PER_BATCH) {
              for (const item of items) acknowledged.add(`${derId}@${item.reading.timestamp}`);
              break;
            }
          } catch {
            refusedConnections++;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const sending = Promise.all(DERS.map(sender));
    for (const afterAcks of [600, 2_000]) {
      await waitFor("readings acknowledged", () => acknowledged.size >= afterAcks, { timeoutMs: 60_000 });
      const refusedBefore = refusedConnections;
      await kill();
      // restart once a gateway has found the service down (a request refused), not after a fixed pause
      await waitFor("a gateway refused while the service is down", () => refusedConnections > refusedBefore, {
        timeoutMs: 10_000,
        intervalMs: 10,
      });
      await start();
    }
    await sending;

    const total = DERS.length * BATCHES_PER_DER * PER_BATCH;
    expect(acknowledged.size).toBe(total);
    expect(refusedConnections).toBeGreaterThan(0); // the kills happened while gateways were sending
    await waitFor("every acknowledged reading stored", async () => (await db.reading.count()) === total, {
      timeoutMs: 60_000,
    });
    const stored = await db.reading.findMany({ select: { derId: true, readingAt: true } });
    const storedKeys = new Set(stored.map((r) => `${r.derId}@${r.readingAt.getTime()}`));
    for (const key of acknowledged) expect(storedKeys.has(key), key).toBe(true);

    // each DER: 1,000 readings 5 Wh apart → 4,995 Wh in its half-hours, and the twin at the last value
    const sums = await db.energyInterval.groupBy({
      by: ["derId"],
      _sum: { generationWh: true, readingCount: true },
    });
    expect(sums).toHaveLength(DERS.length);
    for (const sum of sums) {
      expect(sum._sum.generationWh).toBeCloseTo(5 * (BATCHES_PER_DER * PER_BATCH - 1), 6);
      expect(sum._sum.readingCount).toBe(BATCHES_PER_DER * PER_BATCH);
    }
    const twin = await db.twin.findUnique({ where: { derId: "der-c1" } });
    expect((twin!.fields as Record<string, { value: number }>).total_generation_Wh?.value).toBe(
      10_000 + 5 * (total / 4 - 1),
    );
  }, 240_000);
});
