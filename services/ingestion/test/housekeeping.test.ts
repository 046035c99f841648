import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase, waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDb, createDb, type Db } from "../src/db.ts";
import { startHousekeeping } from "../src/housekeeping.ts";
import { partitionName } from "../src/readings/partitions.ts";

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const config = {
  RAW_RETENTION_DAYS: 30,
  STALE_AFTER_SECONDS: 300,
  DISCONNECTED_AFTER_SECONDS: 3600,
  SWEEP_INTERVAL_SECONDS: 1,
};

/** A logger that keeps what it is told. */
function recordingLog() {
  const lines: Array<{ level: string; obj: object; msg?: string }> = [];
  return {
    lines,
    info: (obj: object, msg?: string) => lines.push({ level: "info", obj, msg }),
    error: (obj: object, msg?: string) => lines.push({ level: "error", obj, msg }),
  };
}

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase({ cwd: serviceDir });
  db = createDb(database.url);
});
afterAll(async () => {
  if (db) await closeDb(db);
  await database?.drop();
});

describe("housekeeping", () => {
  it("makes today's partitions at start, then sweeps liveness and wakes the relay when it recorded events", async () => {
    await db.deviceLiveness.create({
      data: {
        deviceId: "dev-h",
        orgId: "org-h",
        state: "active",
        lastSeenAt: new Date(Date.now() - 2 * 3600_000),
        changedAt: new Date(Date.now() - 2 * 3600_000),
      },
    });
    let wakes = 0;
    const log = recordingLog();
    const housekeeping = startHousekeeping({ db, config, published: () => wakes++, log });
    const today = partitionName(Math.floor(Date.now() / 86_400_000) * 86_400_000);
    await waitFor("today's partition", async () => {
      const rows = await db.$queryRawUnsafe<unknown[]>("SELECT 1 FROM pg_class WHERE relname = $1", today);
      return rows.length > 0;
    });
    await waitFor("the sweep", () => wakes > 0, { timeoutMs: 5_000 });
    await housekeeping.stop();
    expect(wakes).toBe(1);
    expect(await db.deviceLiveness.findUniqueOrThrow({ where: { deviceId: "dev-h" } })).toMatchObject({
      state: "disconnected",
    });
    const events = await db.outboxMessage.findMany({ where: { topic: "ingestion.liveness.v1" } });
    expect(events.map((e) => e.payload)).toEqual([
      expect.objectContaining({ deviceId: "dev-h", from: "active", to: "disconnected" }),
    ]);
    expect(log.lines.filter((l) => l.level === "error")).toEqual([]);
    expect(log.lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(["reading partitions maintained", "devices went silent"]),
    );
  });

  it("logs a failing job and carries on; stop() ends the loop", async () => {
    const broken = createDb(database.url.replace(/\/[^/?]+(\?|$)/, "/no_such_database$1"));
    const log = recordingLog();
    const housekeeping = startHousekeeping({ db: broken, config, published: () => {}, log });
    await waitFor(
      "two failed runs",
      () => log.lines.filter((l) => l.msg?.includes("liveness sweep failed")).length >= 2,
      {
        timeoutMs: 10_000,
      },
    );
    await housekeeping.stop();
    const logged = log.lines.length;
    // a loop still running beside it, on the same interval, fails two more times: the stopped one, had it
    // gone on, would have failed in the meantime too
    const control = recordingLog();
    const running = startHousekeeping({ db: broken, config, published: () => {}, log: control });
    await waitFor(
      "two more runs of a loop still running",
      () => control.lines.filter((l) => l.msg?.includes("liveness sweep failed")).length >= 2,
      { timeoutMs: 10_000 },
    );
    await running.stop();
    expect(log.lines.length).toBe(logged);
    expect(log.lines.every((l) => l.level === "error")).toBe(true);
    expect(log.lines[0]?.msg).toContain("reading partition maintenance failed");
    await closeDb(broken);
  });
});
