import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BatteryReadingSchema,
  ChargingStateSchema,
  ConnectorStatusSchema,
  ControlModeSchema,
  EvChargerPortReadingSchema,
  MeterReadingSchema,
  PvReadingSchema,
  TEXT_MAX_LENGTH,
  type TelemetryReading,
  V2xChargerReadingSchema,
} from "@energy/contracts";
import { createTestDatabase, type TestDatabase } from "@energy/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDb, createDb, type Db } from "../src/db.ts";
import { DER_TYPE_OF_READING } from "../src/domain/intervals.ts";
import { checkReading } from "../src/domain/reading-checks.ts";
import { type AcceptedReading, applyReadings } from "../src/store/apply-readings.ts";
import { accepted } from "./accepted.ts";

// "An acknowledgement means stored": whatever the ingestor's rules accept, the telemetry store stores.
// Readings are generated from the telemetry models' own fields, with values good and hostile (NUL, lone
// surrogates, long strings, huge and fractional numbers, timestamps from 0 to the year 285,000); every one
// the rules accept is applied by the real store to a real database, which must store it.

const serviceDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const NOW = Date.now();
const window = { earliestMs: Date.parse("2000-01-01T00:00:00Z"), futureToleranceMs: 300_000 };
const MODELS = {
  pv: PvReadingSchema,
  battery: BatteryReadingSchema,
  meter: MeterReadingSchema,
  ev_charger_port: EvChargerPortReadingSchema,
  v2x_charger: V2xChargerReadingSchema,
} as const;
const ENUMS: Record<string, readonly string[]> = {
  connector_status: ConnectorStatusSchema.options,
  charging_state: ChargingStateSchema.options,
  control_mode: ControlModeSchema.options,
};

const hostileText = fc.oneof(
  fc.constantFrom("De\u0000ye", "\u0000", "De\ud800ye", "\udfff", "Deye 😀", "SuspendedEV", "ISO_15118_20"),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ minLength: TEXT_MAX_LENGTH - 2, maxLength: TEXT_MAX_LENGTH + 2 }),
  fc.constant("x".repeat(20_000)),
);
const number = fc.oneof(
  fc.integer({ min: -100_000, max: 100_000 }),
  fc.integer({ min: 0, max: 2_147_483_647 }),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 0.5, 1, 1e308, -1e308, 5e-324, 2 ** 53, 2 ** 63),
);
/** Any JSON value a gateway could put in a field (JSON has no NaN, Infinity or undefined). */
const anyValue = fc.oneof(
  number,
  hostileText,
  fc.boolean(),
  fc.array(number, { maxLength: 4 }),
  fc.array(fc.integer({ min: 0, max: 5_000 }), { maxLength: 20 }),
);
/** A value of the kind the field takes (which may still break its rules: a sign, a range, a band). */
function plausible(field: string, schema: { safeParse(v: unknown): { success: boolean } }) {
  if (ENUMS[field]) return fc.constantFrom(...ENUMS[field]!);
  if (schema.safeParse("Deye").success) return fc.string({ unit: "binary", maxLength: 24 });
  if (schema.safeParse(true).success) return fc.boolean();
  if (schema.safeParse([0]).success) return fc.array(fc.integer({ min: 0, max: 22_000 }), { maxLength: 3 });
  if (schema.safeParse(0.5).success) return fc.double({ min: -1e6, max: 1e6, noNaN: true });
  // (beyond ±2^31 is out of the models' range: the hostile values of `number` go there)
  return fc.oneof(fc.integer({ min: -50_000, max: 50_000 }), fc.integer({ min: 0, max: 2_147_483_647 }));
}
const fieldValue = (field: string, schema: Parameters<typeof plausible>[1]) =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(null) },
    { weight: 12, arbitrary: plausible(field, schema) },
    { weight: 1, arbitrary: anyValue },
  );
const timestamp = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.integer({ min: window.earliestMs - 10, max: NOW + window.futureToleranceMs + 10 }),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 53 - 1 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, window.earliestMs, NOW + window.futureToleranceMs) },
);
const reading = fc.constantFrom(...(Object.keys(MODELS) as (keyof typeof MODELS)[])).chain((type) => {
  const shape = MODELS[type].shape as Record<string, Parameters<typeof plausible>[1]>;
  const fields = Object.keys(shape).filter((f) => f !== "type" && f !== "timestamp");
  return fc.record(
    {
      type: fc.constant(type),
      timestamp,
      ...Object.fromEntries(fields.map((f) => [f, fieldValue(f, shape[f]!)])),
      unknown_field: hostileText,
    },
    { requiredKeys: ["type", "timestamp"] },
  );
});

let database: TestDatabase;
let db: Db;
let der = 0;

beforeAll(async () => {
  database = await createTestDatabase({ cwd: serviceDir });
  db = createDb(database.url);
});
afterAll(async () => {
  await closeDb(db);
  await database?.drop();
});

const scopeOf = (n: number, type: TelemetryReading["type"] = "pv") => ({
  derId: `der-${n}-${type}`,
  deviceId: `dev-${n}`,
  siteId: "site-p",
  orgId: "org-p",
});

/** The DERs of a batch, as the registry projection has them. */
async function seedDers(batch: readonly AcceptedReading[]) {
  const ders = new Map(batch.map((r) => [r.derId, r]));
  await db.der.createMany({
    data: [...ders.values()].map((r) => ({
      id: r.derId,
      deviceId: r.deviceId,
      siteId: r.siteId,
      orgId: r.orgId,
      derType: DER_TYPE_OF_READING[r.reading.type],
      name: r.derId,
    })),
    skipDuplicates: true,
  });
}

describe("whatever validation accepts, the store stores", () => {
  it("the store could never apply a NUL in make (so it is refused before the answer)", async () => {
    const nul = { type: "pv" as const, timestamp: NOW, make: "De\u0000ye" };
    const check = checkReading(nul, NOW, window);
    expect(check).toEqual({
      ok: false,
      reasons: [{ field: "reading.make", message: "make must not contain a NUL character (\\u0000)" }],
    });
    // what accepting it used to lead to: PostgreSQL refuses it in every transaction, so it could only be
    // dead-lettered after the gateway was told it was accepted
    const scope = scopeOf(++der);
    await seedDers([accepted(scope, NOW, { type: "pv" })]);
    await expect(applyReadings(db, [accepted(scope, NOW, nul)])).rejects.toThrow(
      /unsupported Unicode escape sequence/,
    );
  });

  it("every reading the rules accept is stored, twin and all (seeded, 80 batches)", async () => {
    let acceptedCount = 0;
    let refusedCount = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(reading, { minLength: 1, maxLength: 12 }), async (readings) => {
        // one DER per reading type in the batch, as the registry has it (the ingestor refuses a reading
        // type that does not fit its DER)
        const run = ++der;
        const batch: AcceptedReading[] = [];
        const seen = new Set<string>();
        for (const candidate of readings) {
          const check = checkReading(candidate, NOW, window);
          if (!check.ok) {
            refusedCount++;
            continue;
          }
          const scope = scopeOf(run, check.reading.type);
          const key = `${scope.derId}@${check.reading.timestamp}`;
          if (seen.has(key)) continue; // one reading per DER and time
          seen.add(key);
          batch.push({ ...accepted(scope, check.reading.timestamp, check.reading), reading: check.reading });
        }
        if (batch.length === 0) return;
        acceptedCount += batch.length;
        await seedDers(batch);
        // Every other run, the DERs have a twin already (a reading before the batch's): the batch's readings
        // are then newer than the twin and go in by COPY, the others by INSERT … ON CONFLICT.
        const ders = [...new Map(batch.map((r) => [r.derId, r])).values()];
        const earlier = Math.min(...batch.map((r) => r.reading.timestamp)) - 1;
        if (run % 2 === 0)
          await applyReadings(
            db,
            ders.map((r) => accepted(r, earlier, { type: r.reading.type })),
          );
        const result = await applyReadings(db, batch);
        expect(result).toMatchObject({ stored: batch.length, duplicates: 0 });
        for (const derId of new Set(batch.map((r) => r.derId))) {
          const mine = batch.filter((r) => r.derId === derId);
          const rows = await db.$queryRawUnsafe<Array<{ n: number; last: Date }>>(
            `SELECT count(*)::int AS n, (SELECT last_reading_at FROM twin WHERE der_id = $1) AS last
               FROM reading WHERE der_id = $1`,
            derId,
          );
          expect(rows[0]!.n).toBe(mine.length + (run % 2 === 0 ? 1 : 0));
          expect(rows[0]!.last.getTime()).toBe(Math.max(...mine.map((r) => r.reading.timestamp)));
          // as it was accepted (the JSON of it: -0 is 0)
          const kept = await db.$queryRawUnsafe<Array<{ reading: unknown }>>(
            `SELECT reading FROM reading WHERE der_id = $1 AND reading_at = ANY($2::timestamptz[]) ORDER BY reading_at`,
            derId,
            mine.map((r) => new Date(r.reading.timestamp)),
          );
          const sorted = [...mine].sort((a, b) => a.reading.timestamp - b.reading.timestamp);
          expect(kept.map((k) => k.reading)).toEqual(
            sorted.map((r) => JSON.parse(JSON.stringify(r.reading))),
          );
        }
      }),
      { seed: 20261201, numRuns: 80 },
    );
    // the generator reaches both sides of the rules
    expect(acceptedCount).toBeGreaterThan(50);
    expect(refusedCount).toBeGreaterThan(50);
  });
});
