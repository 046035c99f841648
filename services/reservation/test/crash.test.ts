import { generateKeyPairSync } from "node:crypto";
import { type IssuanceRequest, topics } from "@energy/contracts";
import { type ServiceProcess, spawnService, topicsOf } from "@energy/service-kit/testing";
import {
  createTestDatabase,
  createTestKafka,
  readTopic,
  type TestDatabase,
  type TestKafka,
  waitFor,
} from "@energy/testing";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDb, createDb, type Db } from "../src/db.ts";
import { reservation } from "../src/service.ts";
import {
  hoursAgo,
  issuanceRecords,
  requestsIn,
  reservationBody,
  seedDevices,
  seedOrg,
  serviceDir,
} from "./helpers.ts";

// The real service (src/server.ts) in a child process, SIGKILLed while it requests the windows of a
// reservation that started 20 days ago (480 hourly windows, 3 devices, a read per device and hour). After
// the restart every window is requested exactly once: one request id and one energy per idempotency
// key, and the requests add up to the reads to the Wh.

const DEVICES = ["dev-k0", "dev-k1", "dev-k2"];
const HOURS = 20 * 24;

describe("the service killed while it requests windows", () => {
  let database: TestDatabase;
  let testKafka: TestKafka;
  let db: Db;
  let env: Record<string, string>;
  let token: string;
  let service: ServiceProcess | undefined;

  // Each start waits for /readyz: database and Kafka reachable.
  async function start() {
    service = await spawnService(serviceDir, env);
  }
  const kill = () => service?.kill() ?? Promise.resolve();

  beforeAll(async () => {
    [database, testKafka] = await Promise.all([
      createTestDatabase({ cwd: serviceDir }),
      createTestKafka({ topics: topicsOf(reservation).map((t) => t.name) }),
    ]);
    db = createDb(database.url);
    await seedOrg(db, "org-buyer", "buyer", { "usr-buyer": "owner" });
    await seedOrg(db, "org-dev", "developer");
    await seedDevices(db, "org-dev", DEVICES);
    // The reads of 20 days, as the meter-read projection stores them: energy varies by device and hour.
    const from = hoursAgo(HOURS);
    await db.$executeRawUnsafe(
      `INSERT INTO meter_read (read_id, device_id, version, content_hash, start, "end", energy_wh, eligible)
       SELECT 'mrd-' || d || '-' || h, d, 1, md5(d || h) || md5(h || d),
              $1::timestamptz + h * interval '1 hour', $1::timestamptz + (h + 1) * interval '1 hour',
              1000 + (h * 7 + length(d)) % 500, true
         FROM unnest($2::text[]) AS d, generate_series(0, $3 - 1) AS h`,
      from,
      DEVICES,
      HOURS,
    );
    const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
    env = {
      NODE_ENV: "test",
      LOG_LEVEL: "fatal",
      DATABASE_URL: database.url,
      KAFKA_BROKERS: testKafka.brokers,
      KAFKA_TOPIC_PREFIX: testKafka.topicPrefix,
      JWT_PUBLIC_KEY: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
      WINDOW_CLOSE_DELAY_SECONDS: "0",
      ISSUANCE_INTERVAL_MS: "100",
      WINDOWS_PER_TRANSACTION: "20",
    };
    token = jwt.sign({ typ: "user" }, keys.privateKey, {
      algorithm: "ES256",
      subject: "usr-buyer",
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

  // Each start of the process takes seconds (tsx, Prisma, Kafka) on a loaded machine.
  it("never requests a window twice", { timeout: 120_000 }, async () => {
    const res = await fetch(`${service!.url}/organizations/org-buyer/reservations`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(
        reservationBody(DEVICES, {
          reservationStartDate: hoursAgo(HOURS).toISOString(),
          targetVolumeInMegaWattHour: 1_000,
        }),
      ),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };

    // Kill it in the middle of requesting: some windows requested, not all.
    for (const atLeast of [100]) {
      await waitFor("some windows requested", async () => (await db.issuanceWindow.count()) >= atLeast, {
        timeoutMs: 60_000,
        intervalMs: 20,
      });
      await kill();
      expect(await db.issuanceWindow.count()).toBeLessThan(HOURS);
      await start();
    }
    await waitFor(
      "every window requested and published",
      async () =>
        (await db.issuanceWindow.count()) === HOURS &&
        (await db.outboxMessage.count({ where: { sentAt: null } })) === 0,
      { timeoutMs: 90_000, intervalMs: 200 },
    );

    const messages = await readTopic(
      testKafka.kafka,
      `${testKafka.topicPrefix}${topics.reservationIssuanceRequest.name}`,
      {
        count: await issuanceRecords(db),
        timeoutMs: 30_000,
        settleMs: 500,
      },
    );
    const byKey = new Map<string, IssuanceRequest[]>();
    for (const request of requestsIn(messages)) {
      byKey.set(request.idempotencyKey, [...(byKey.get(request.idempotencyKey) ?? []), request]);
    }
    expect(byKey.size).toBe(HOURS);
    // A message the relay sent but had not marked before the kill may be sent again: the same request
    // (same request id, envelope id and energy), never a second request for the window.
    for (const copies of byKey.values()) {
      expect(new Set(copies.map((c) => `${c.requestId}/${c.energyWh}/${c.version}`)).size).toBe(1);
    }
    const requested = [...byKey.values()].reduce((sum, [r]) => sum + r!.energyWh, 0);
    const [{ total }] = await db.$queryRawUnsafe<[{ total: bigint }]>(
      "SELECT sum(energy_wh) AS total FROM meter_read",
    );
    expect(requested).toBe(Number(total));
    const reservation = await db.reservation.findUniqueOrThrow({ where: { id } });
    expect(Number(reservation.requestedWh)).toBe(Number(total));
  });
});
