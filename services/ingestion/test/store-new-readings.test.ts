import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDb, createDb, type Db } from "../src/db.ts";
import { applyReadings } from "../src/store/apply-readings.ts";
import { accepted } from "./accepted.ts";

// The store tells new readings from stored ones by the DER's twin (newer than its last reading: not stored
// yet, written with COPY) and by the table otherwise. Either way a reading is stored once and counted once,
// whatever was written around the store.

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const T0 = Date.parse("2026-11-30T10:00:00Z");
const at = (s: number) => T0 + s * 1000;

let database: TestDatabase;
let db: Db;
let n = 0;

beforeAll(async () => {
  database = await createTestDatabase({ cwd: serviceDir });
  db = createDb(database.url);
});
afterAll(async () => {
  await closeDb(db);
  await database?.drop();
});

/** A fresh battery DER of its own device, as the projection has it. */
async function newDer() {
  const scope = {
    derId: `der-copy-${++n}`,
    deviceId: `dev-copy-${n}`,
    siteId: "site-c",
    orgId: "org-c",
    gatewayId: "gw-c",
  };
  await db.der.create({
    data: {
      id: scope.derId,
      deviceId: scope.deviceId,
      siteId: scope.siteId,
      orgId: scope.orgId,
      derType: "battery",
      name: scope.derId,
    },
  });
  return scope;
}

const battery = (W: number, charged: number) => ({ type: "battery" as const, W, total_charge_Wh: charged });

async function storedReadings(derId: string) {
  return db.$queryRawUnsafe<Array<{ at: Date; reading: Record<string, unknown>; gateway_id: string | null }>>(
    `SELECT reading_at AS at, reading, gateway_id FROM reading WHERE der_id = $1 ORDER BY reading_at`,
    derId,
  );
}

describe("storing new readings", () => {
  it("stores readings newer than the twin once, the first copy of one sent twice in a batch", async () => {
    const der = await newDer();
    expect(await applyReadings(db, [accepted(der, at(0), battery(100, 1000))])).toMatchObject({ stored: 1 });
    const result = await applyReadings(db, [
      accepted(der, at(5), battery(200, 1001)),
      accepted(der, at(10), battery(300, 1002)),
      accepted(der, at(5), battery(999, 1001)), // the same time again
      accepted({ ...der, gatewayId: null }, at(15), { ...battery(400, 1003), make: 'De"ye, \\ 😀\nx' }),
      // COPY's text format: a tab, a newline and `\N` (its NULL) in a column are text like any other
      accepted({ ...der, gatewayId: "\\N" }, at(20), battery(500, 1004)),
      accepted({ ...der, gatewayId: "gw\t\n\\x" }, at(25), battery(600, 1005)),
    ]);
    expect(result).toMatchObject({ stored: 5, duplicates: 1 });
    const rows = await storedReadings(der.derId);
    expect(rows.map((r) => [r.at.getTime(), r.reading.W])).toEqual([
      [at(0), 100],
      [at(5), 200],
      [at(10), 300],
      [at(15), 400],
      [at(20), 500],
      [at(25), 600],
    ]);
    // text and NULL come back as they were sent
    expect(rows[3]!.reading.make).toBe('De"ye, \\ 😀\nx');
    expect(rows.map((r) => r.gateway_id)).toEqual(["gw-c", "gw-c", "gw-c", null, "\\N", "gw\t\n\\x"]);
    const twin = await db.twin.findUniqueOrThrow({ where: { derId: der.derId } });
    expect(twin.lastReadingAt.getTime()).toBe(at(25));
    const energy = await db.energyInterval.findMany({ where: { derId: der.derId } });
    expect(energy.map((e) => [e.chargeWh, e.readingCount])).toEqual([[5, 6]]);
  });

  it("counts a redelivered chunk, and late readings in it, once", async () => {
    const der = await newDer();
    const first = [0, 5, 10].map((s, i) => accepted(der, at(s), battery(100, 1000 + i)));
    await applyReadings(db, first);
    // redelivered with one late reading (before the twin's last) and one new
    const again = await applyReadings(db, [
      ...first,
      accepted(der, at(7), battery(100, 1001)),
      accepted(der, at(20), battery(100, 1004)),
    ]);
    expect(again).toMatchObject({ stored: 2, duplicates: 3 });
    expect((await storedReadings(der.derId)).map((r) => r.at.getTime())).toEqual([
      at(0),
      at(5),
      at(7),
      at(10),
      at(20),
    ]);
    const energy = await db.energyInterval.findMany({ where: { derId: der.derId } });
    expect(energy.map((e) => [e.chargeWh, e.readingCount])).toEqual([[4, 5]]);
  });

  it("finds a reading written around the store though it is newer than the twin", async () => {
    const der = await newDer();
    await applyReadings(db, [accepted(der, at(0), battery(100, 1000))]);
    // a row the twin does not know of (as a restore or a hand-made insert would leave)
    await db.$executeRawUnsafe(
      `INSERT INTO reading (der_id, reading_at, received_at, device_id, gateway_id, reading)
       VALUES ($1, $2, $2, $3, 'gw-c', '{"type":"battery","W":1}')`,
      der.derId,
      new Date(at(10)),
      der.deviceId,
    );
    const result = await applyReadings(db, [
      accepted(der, at(5), battery(200, 1001)),
      accepted(der, at(10), battery(300, 1002)),
      accepted(der, at(15), battery(400, 1003)),
    ]);
    expect(result).toMatchObject({ stored: 2, duplicates: 1 });
    const rows = await storedReadings(der.derId);
    expect(rows.map((r) => [r.at.getTime(), r.reading.W])).toEqual([
      [at(0), 100],
      [at(5), 200],
      [at(10), 1], // the row that was there stays
      [at(15), 400],
    ]);
    const twin = await db.twin.findUniqueOrThrow({ where: { derId: der.derId } });
    expect(twin.lastReadingAt.getTime()).toBe(at(15));
  });
});
