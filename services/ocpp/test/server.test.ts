import { generateKeyPairSync } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ServiceProcess, spawnService, topicsOf } from "@energy/service-kit/testing";
import { createTestDatabase, createTestKafka, type TestDatabase, waitFor } from "@energy/testing";
import { RPCClient } from "ocpp-rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { closeDb, createDb, type Db } from "../src/db.ts";
import { ocpp } from "../src/service.ts";
import { basic, boot16, PASSWORD, seedCharger } from "./helpers.ts";

// The real src/server.ts (runMain of the declaration) in a child process: its readiness is the real
// database and Kafka, chargers connect to its websocket endpoint, and SIGTERM tells them to go and records
// their disconnection before the process exits.

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");
let database: TestDatabase;
let db: Db;
let server: ServiceProcess;

beforeAll(async () => {
  const [created, kafka] = await Promise.all([
    createTestDatabase({ cwd: serviceDir }),
    createTestKafka({ topics: topicsOf(ocpp).map((t) => t.name) }),
  ]);
  database = created;
  db = createDb(database.url);
  await seedCharger(db, { chargePointId: "dev-server-1" });
  await seedCharger(db, { chargePointId: "dev-server-deaf" });
  server = await spawnService(serviceDir, {
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    DATABASE_URL: database.url,
    KAFKA_BROKERS: kafka.brokers,
    KAFKA_TOPIC_PREFIX: kafka.topicPrefix,
    JWT_PUBLIC_KEY: generateKeyPairSync("ec", { namedCurve: "P-256" })
      .publicKey.export({ type: "spki", format: "pem" })
      .toString(),
    INSTANCE_ID: "server-test",
  });
});
afterAll(async () => {
  await server?.kill();
  if (db) await closeDb(db);
  await database?.drop();
});

describe("server.ts", () => {
  it("is ready on the real database and Kafka, holds chargers, and on SIGTERM closes them with grace, cutting off one that does not answer", async () => {
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);

    const cp = new RPCClient({
      endpoint: `${server.url.replace(/^http/, "ws")}/ocpp`,
      identity: "dev-server-1",
      password: PASSWORD,
      protocols: ["ocpp1.6"],
      reconnect: false,
    } as never);
    await cp.connect();
    expect(await cp.call("BootNotification", boot16)).toMatchObject({ status: "Accepted" });
    await waitFor("the session recorded", async () => (await db.chargerSession.count()) === 1);
    expect((await db.chargerSession.findFirstOrThrow()).instanceId).toBe("server-test");

    // a charger that never reads the close frame (its socket stops reading) is cut off after the grace
    const deaf = new WebSocket(`${server.url.replace(/^http/, "ws")}/ocpp/dev-server-deaf`, ["ocpp1.6"], {
      headers: { authorization: basic("dev-server-deaf", PASSWORD) },
    });
    await new Promise((resolve, reject) => {
      deaf.once("open", resolve);
      deaf.once("error", reject);
    });
    await waitFor("both sessions recorded", async () => (await db.chargerSession.count()) === 2);
    (deaf as unknown as { _socket: { pause(): void } })._socket.pause();

    const closed = new Promise<number>((resolve) =>
      cp.once("close", ({ code }: { code: number }) => resolve(code)),
    );
    const exited = new Promise<number | null>((resolve) =>
      server.child.once("exit", (code) => resolve(code)),
    );
    server.child.kill("SIGTERM");
    expect(await closed).toBe(1001); // going away: the server is shutting down
    expect(await exited).toBe(0);
    // the disconnection was recorded before the database closed
    expect(await db.chargerSession.count()).toBe(0);
    for (const key of ["dev-server-1", "dev-server-deaf"]) {
      expect(await db.outboxMessage.count({ where: { key, type: "charger.disconnected" } }), key).toBe(1);
    }
    expect(await db.serviceInstance.count({ where: { id: "server-test" } })).toBe(0);
  }, 90_000);
});
