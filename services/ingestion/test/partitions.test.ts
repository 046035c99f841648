import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase, waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDb, createDb, type Db } from "../src/db.ts";
import { maintainPartitions, partitionDay, partitionName } from "../src/readings/partitions.ts";
import { applyReadings } from "../src/store/apply-readings.ts";
import { accepted } from "./accepted.ts";

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const scope = { derId: "der-p", deviceId: "dev-p", siteId: "site-p", orgId: "org-p" };

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase({ cwd: serviceDir });
  db = createDb(database.url);
  // the DER as the registry projection has it (accepted readings are applied to known DERs)
  await db.der.create({
    data: {
      id: "der-any",
      deviceId: scope.deviceId,
      siteId: scope.siteId,
      orgId: scope.orgId,
      derType: "solar",
      name: "pv",
    },
  });
});
afterAll(async () => {
  if (db) await closeDb(db);
  await database?.drop();
});

/** Stores a raw reading at `at` (through the table's own routing). */
async function insertReading(at: string, derId = scope.derId) {
  await db.$executeRawUnsafe(
    `INSERT INTO reading (der_id, reading_at, received_at, device_id, gateway_id, reading)
     VALUES ($1, $2::timestamptz, $2::timestamptz, $3, NULL, $4::jsonb)`,
    derId,
    at,
    scope.deviceId,
    JSON.stringify({ type: "pv", timestamp: Date.parse(at), W: -1 }),
  );
}

/** Where each of the DER's readings is stored: reading time → partition. */
async function whereStored(derId = scope.derId): Promise<Record<string, string>> {
  const rows = await db.$queryRawUnsafe<Array<{ at: Date; part: string }>>(
    "SELECT reading_at AS at, tableoid::regclass::text AS part FROM reading WHERE der_id = $1 ORDER BY reading_at",
    derId,
  );
  return Object.fromEntries(rows.map((row) => [row.at.toISOString(), row.part]));
}

async function partitions(): Promise<string[]> {
  const rows = await db.$queryRawUnsafe<Array<{ name: string }>>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'reading'::regclass ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

describe("partition names", () => {
  it("names a UTC day and reads the name back", () => {
    const day = Date.parse("2026-03-09T00:00:00Z");
    expect(partitionName(day)).toBe("reading_p20260309");
    expect(partitionDay("reading_p20260309")).toBe(day);
    expect(partitionDay("reading_default")).toBeNull();
    expect(partitionDay("reading_p20260230")).toBeNull();
  });
});

describe("raw reading partitions", () => {
  it("makes a partition per UTC day from yesterday to two days ahead, moving the rows the default partition held", async () => {
    await insertReading("2026-03-09T23:59:59.999Z"); // yesterday
    await insertReading("2026-03-11T08:00:00.000Z"); // tomorrow
    await insertReading("2026-03-13T00:00:00.000Z"); // three days ahead: no partition yet
    await insertReading("2026-02-20T12:00:00.000Z"); // before yesterday, within the retention
    expect(await partitions()).toEqual(["reading_default"]);

    const report = await maintainPartitions(db, {
      now: new Date("2026-03-10T15:00:00Z"),
      retentionDays: 30,
      daysAhead: 2,
    });
    expect(report).toEqual({
      skipped: false,
      created: ["reading_p20260309", "reading_p20260310", "reading_p20260311", "reading_p20260312"],
      movedRows: 2,
      dropped: [],
      prunedDefaultRows: 0,
      prunedRejected: 0,
    });
    expect(await partitions()).toEqual([
      "reading_default",
      "reading_p20260309",
      "reading_p20260310",
      "reading_p20260311",
      "reading_p20260312",
    ]);
    expect(await whereStored()).toEqual({
      "2026-02-20T12:00:00.000Z": "reading_default",
      "2026-03-09T23:59:59.999Z": "reading_p20260309",
      "2026-03-11T08:00:00.000Z": "reading_p20260311",
      "2026-03-13T00:00:00.000Z": "reading_default",
    });
    // the moved rows read the same as before, and keep their primary key
    const moved = await db.reading.findUniqueOrThrow({
      where: { derId_readingAt: { derId: scope.derId, readingAt: new Date("2026-03-11T08:00:00.000Z") } },
    });
    expect(moved).toMatchObject({ deviceId: scope.deviceId, reading: { type: "pv", W: -1 } });
    await expect(insertReading("2026-03-11T08:00:00.000Z")).rejects.toThrow();
  });

  it("changes nothing when run again", async () => {
    const report = await maintainPartitions(db, {
      now: new Date("2026-03-10T16:00:00Z"),
      retentionDays: 30,
      daysAhead: 2,
    });
    expect(report).toMatchObject({ skipped: false, created: [], movedRows: 0, dropped: [] });
  });

  it("stores a reading of any day: in its day's partition, or the default one", async () => {
    const times = [
      "1999-12-31T23:00:00.000Z",
      "2026-03-10T00:00:00.000Z",
      "2026-03-12T23:59:59.999Z",
      "2026-03-14T10:00:00.000Z",
      "2100-01-01T00:00:00.000Z",
    ];
    const result = await applyReadings(
      db,
      times.map((at) => accepted({ ...scope, derId: "der-any" }, at, { type: "pv", W: -5 })),
    );
    expect(result.stored).toBe(times.length);
    expect(await whereStored("der-any")).toEqual({
      "1999-12-31T23:00:00.000Z": "reading_default",
      "2026-03-10T00:00:00.000Z": "reading_p20260310",
      "2026-03-12T23:59:59.999Z": "reading_p20260312",
      "2026-03-14T10:00:00.000Z": "reading_default",
      "2100-01-01T00:00:00.000Z": "reading_default",
    });
  });

  it("keeps taking readings for a day while its partition is being made", async () => {
    const day = "2027-06-10";
    let stop = false;
    let n = 0;
    let written = 0;
    const failures: unknown[] = [];
    const writer = async (derId: string) => {
      while (!stop) {
        const at = new Date(Date.parse(`${day}T00:00:00Z`) + ++n * 1000).toISOString();
        // a transaction that holds the table a moment, as the telemetry store's batches do
        await db
          .$transaction(async (tx) => {
            await tx.$executeRawUnsafe(
              `INSERT INTO reading (der_id, reading_at, received_at, device_id, reading)
               VALUES ($1, $2::timestamptz, now(), 'dev-p', '{}'::jsonb)`,
              derId,
              at,
            );
            await tx.$queryRawUnsafe("SELECT count(*)::int AS n FROM reading WHERE der_id = $1", derId);
          })
          .then(() => written++)
          .catch((error: unknown) => failures.push(error));
      }
    };
    const writers = [writer("der-w1"), writer("der-w2"), writer("der-w3")];
    // the writers are under way before the partition is made, and go on writing after it
    await waitFor("readings written before", () => written >= 15 || failures.length > 0);
    const report = await maintainPartitions(db, { now: new Date(`${day}T12:00:00Z`), retentionDays: 36_500 });
    const atReport = written;
    await waitFor("readings written after", () => written >= atReport + 15 || failures.length > 0);
    stop = true;
    await Promise.all(writers);
    expect(failures).toEqual([]);
    expect(report.created).toContain("reading_p20270610");
    expect(report.movedRows).toBeGreaterThan(0);
    const stored = await db.$queryRawUnsafe<Array<{ part: string; n: number }>>(
      `SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM reading
        WHERE der_id LIKE 'der-w%' GROUP BY 1`,
    );
    expect(stored).toEqual([{ part: "reading_p20270610", n }]);
    // put the tables back as the other tests expect them
    for (const name of ["reading_p20270609", "reading_p20270610", "reading_p20270611", "reading_p20270612"]) {
      await db.$executeRawUnsafe(`DROP TABLE "${name}"`);
    }
  });

  it("leaves the run to the instance holding the lock", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const other = db.$transaction(async (tx) => {
      await tx.$executeRawUnsafe("SELECT pg_advisory_xact_lock(7242101::bigint)");
      locked();
      await held;
    });
    await isLocked;
    const report = await maintainPartitions(db, { now: new Date("2026-03-20T00:00:00Z"), retentionDays: 30 });
    release();
    await other;
    expect(report).toMatchObject({ skipped: true, created: [], dropped: [] });
    expect(await partitions()).not.toContain("reading_p20260320");
  });

  it("drops day partitions and deletes default and refused rows older than the retention; newer readings stay", async () => {
    await db.rejectedReading.createMany({
      data: [
        {
          receivedAt: new Date("2026-03-01T00:00:00Z"),
          channel: "http",
          reasons: [{ field: "W", message: "old" }],
        },
        {
          receivedAt: new Date("2026-04-19T00:00:00Z"),
          channel: "http",
          reasons: [{ field: "W", message: "new" }],
        },
      ],
    });
    await insertReading("2026-04-20T09:00:00.000Z"); // today of the next run: in the default until its partition is made
    const report = await maintainPartitions(db, { now: new Date("2026-04-20T12:00:00Z"), retentionDays: 30 });
    expect(report).toEqual({
      skipped: false,
      created: ["reading_p20260419", "reading_p20260420", "reading_p20260421", "reading_p20260422"],
      movedRows: 1,
      dropped: ["reading_p20260309", "reading_p20260310", "reading_p20260311", "reading_p20260312"],
      // 2026-02-20, 2026-03-13 of der-p; 1999-12-31, 2026-03-14 of der-any (the cut-off is 2026-03-21)
      prunedDefaultRows: 4,
      prunedRejected: 1,
    });
    expect(await partitions()).toEqual([
      "reading_default",
      "reading_p20260419",
      "reading_p20260420",
      "reading_p20260421",
      "reading_p20260422",
    ]);
    expect(await whereStored()).toEqual({ "2026-04-20T09:00:00.000Z": "reading_p20260420" });
    expect(await whereStored("der-any")).toEqual({ "2100-01-01T00:00:00.000Z": "reading_default" });
    expect((await db.rejectedReading.findMany()).map((r) => r.reasons)).toEqual([
      [{ field: "W", message: "new" }],
    ]);
  });
});
