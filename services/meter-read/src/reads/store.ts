import { createHash, randomUUID } from "node:crypto";
import { type CountedRead, type ReadSource, type ReadType, topics } from "@energy/contracts";
import { enqueueEvents, event, type OutgoingEvent } from "@energy/kafka";
import { conflict } from "@energy/service-kit";
import { type Db, type SqlTx, sqlTransaction } from "../db.ts";
import type { CapacityEntry } from "../domain/plausibility.ts";
import {
  type BatchResult,
  evaluateBatch,
  type IncomingRead,
  type NewRead,
  type StoredRead,
} from "../domain/read-rules.ts";
import type { EnergyUnit } from "../domain/units.ts";
import { startOfDate } from "../domain/zoned.ts";

/**
 * Counted reads per meter-read.read.v1 message: ~85 KB of JSON, so a relay batch of a few messages stays
 * under the broker's 1 MB limit per partition; 1,000,000 reads are 4,000 messages, not a million.
 */
export const READS_PER_MESSAGE = 250;
/** Outbox rows per relay send: 4 × ~85 KB, under the broker's 1 MB even when all go to one partition. */
export const RELAY_BATCH_SIZE = 4;

/** One device's part of a request (or of the telemetry consumer's work). */
export interface DeviceBatch {
  deviceId: string;
  type: ReadType;
  source: ReadSource;
  unit: EnergyUnit;
  reads: IncomingRead[];
  /** The read as it was sent, kept with its refusal. */
  raw: (index: number) => unknown;
}

export interface StoreOptions {
  nowMs: number;
  futureToleranceMs: number;
  correlationId?: string;
  causationId?: string | null;
}

export type DeviceResult = BatchResult & { deviceId: string };

interface DeviceRow {
  id: string;
  org_id: string;
  commissioning_date: string | null;
  onboarded_at: Date | null;
  yield_value: number | null;
  cumulative_type: "delta" | "aggregate" | null;
  read_source: ReadSource | null;
  last_cumulative_at: Date | null;
  timezone: string | null;
}

interface ReadRow {
  end_at: Date;
  version: number;
  read_id: string;
  read_type: ReadType;
  source: ReadSource;
  start_at: Date | null;
  value_wh: string;
  energy_wh: string | null;
  eligible: boolean;
  flags: string[] | null;
  content_hash: string | null;
}

const READ_COLUMNS =
  "end_at, version, read_id, read_type, source, start_at, value_wh::text, energy_wh::text, eligible, flags, content_hash";

const toStored = (row: ReadRow): StoredRead => ({
  readId: row.read_id,
  version: row.version,
  readType: row.read_type,
  source: row.source,
  startMs: row.start_at?.getTime() ?? null,
  endMs: row.end_at.getTime(),
  valueWh: Number(row.value_wh),
  energyWh: row.energy_wh === null ? null : Number(row.energy_wh),
  eligible: row.eligible,
  flags: (row.flags ?? []) as StoredRead["flags"],
  contentHash: row.content_hash,
});

/** A 64-bit advisory lock key per device: one writer per device at a time, in every instance. */
const lockDevice = (tx: SqlTx, deviceId: string) =>
  tx.$queryRawUnsafe("SELECT pg_advisory_xact_lock(hashtextextended($1, 7242301))", deviceId);

/**
 * Checks and stores the batches of one request in one transaction: per device (in id order, so two
 * requests never wait on each other in a circle) under the device's lock, the device's stored reads
 * loaded once, the rules applied (domain/read-rules.ts), the reads inserted in one statement, the refused
 * ones kept, and the counted reads written to the outbox in messages of READS_PER_MESSAGE.
 */
export async function storeBatches(
  db: Db,
  batches: readonly DeviceBatch[],
  opts: StoreOptions,
): Promise<DeviceResult[]> {
  return sqlTransaction(db, (tx) => storeInTx(tx, batches, opts));
}

/** storeBatches inside a transaction the caller holds (a consumer's, which also records the message). */
export async function storeInTx(
  tx: SqlTx,
  batches: readonly DeviceBatch[],
  opts: StoreOptions,
): Promise<DeviceResult[]> {
  const ordered = [...batches].sort((a, b) =>
    a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0,
  );
  const results: DeviceResult[] = [];
  for (const batch of ordered) results.push(await storeDeviceBatch(tx, batch, opts));
  return results;
}

async function storeDeviceBatch(tx: SqlTx, batch: DeviceBatch, opts: StoreOptions): Promise<DeviceResult> {
  const { deviceId } = batch;
  await lockDevice(tx, deviceId);
  const [device] = await tx.$queryRawUnsafe<DeviceRow[]>(
    `SELECT d.id, d.org_id, d.commissioning_date, d.onboarded_at, d.yield_value, d.cumulative_type, d.read_source,
            d.last_cumulative_at, s.timezone
       FROM device d LEFT JOIN site s ON s.id = d.site_id WHERE d.id = $1`,
    deviceId,
  );
  if (!device) throw new Error(`device ${deviceId} is not in the projection`);
  if (batch.type !== "history" && device.cumulative_type !== null && device.cumulative_type !== batch.type) {
    throw conflict(
      "read_type_switch_refused",
      `device ${deviceId} reports ${device.cumulative_type} reads; switching between delta and aggregate is not allowed (history reads are)`,
    );
  }
  const capacityLog = (
    await tx.$queryRawUnsafe<Array<{ from_at: Date; capacity_w: number }>>(
      "SELECT from_at, capacity_w FROM device_capacity WHERE device_id = $1 ORDER BY from_at",
      deviceId,
    )
  ).map((row): CapacityEntry => ({ fromMs: row.from_at.getTime(), capacityW: row.capacity_w }));

  const lastCumulativeMs = device.last_cumulative_at?.getTime() ?? null;
  let fromMs = Number.POSITIVE_INFINITY;
  let toMs = Number.NEGATIVE_INFINITY;
  for (const read of batch.reads) {
    fromMs = Math.min(fromMs, read.startMs ?? read.endMs, read.endMs);
    toMs = Math.max(toMs, read.endMs);
  }
  if (batch.type !== "history" && lastCumulativeMs !== null) fromMs = Math.min(fromMs, lastCumulativeMs);
  // Counted reads never overlap, so the ones that can touch [from, to] are those ending in it and the first
  // counted one ending after it.
  const existingRows = await tx.$queryRawUnsafe<ReadRow[]>(
    `(SELECT ${READ_COLUMNS} FROM meter_read WHERE device_id = $1 AND end_at >= $2 AND end_at <= $3)
     UNION ALL
     (SELECT ${READ_COLUMNS} FROM meter_read WHERE device_id = $1 AND end_at > $3 AND start_at IS NOT NULL
       ORDER BY end_at LIMIT 1)`,
    deviceId,
    new Date(fromMs),
    new Date(toMs),
  );
  const existing = existingRows.map(toStored);
  let lastCumulative: StoredRead | null = null;
  let historyAfterLastCumulative = false;
  if (lastCumulativeMs !== null && batch.type !== "history") {
    lastCumulative = existing.find((r) => r.endMs === lastCumulativeMs) ?? null;
    const [after] = await tx.$queryRawUnsafe<Array<{ later: boolean }>>(
      "SELECT EXISTS (SELECT 1 FROM meter_read WHERE device_id = $1 AND end_at > $2) AS later",
      deviceId,
      device.last_cumulative_at,
    );
    historyAfterLastCumulative = after?.later ?? false;
  }

  const timezone = device.timezone ?? "UTC";
  const result = evaluateBatch({
    deviceId,
    type: batch.type,
    source: batch.source,
    unit: batch.unit,
    reads: batch.reads,
    device: {
      capacityLog,
      commissionedMs: device.commissioning_date ? startOfDate(device.commissioning_date, timezone) : null,
      yieldKwhPerKw: device.yield_value,
      onboardedMs: device.onboarded_at?.getTime() ?? null,
      cumulativeType: device.cumulative_type,
      source: device.read_source,
    },
    existing,
    lastCumulative,
    historyAfterLastCumulative,
    nowMs: opts.nowMs,
    futureToleranceMs: opts.futureToleranceMs,
    newReadId: () => `mrd-${randomUUID()}`,
  });

  const recordedAt = new Date(opts.nowMs).toISOString();
  const fresh = result.stored.filter((r) => r.previous === null);
  const corrections = result.stored.filter((r) => r.previous !== null);
  await insertReads(tx, device.org_id, deviceId, fresh, recordedAt);
  for (const read of corrections) await correctRead(tx, deviceId, read, recordedAt);
  const counted = fresh.filter((r) => r.energyWh !== null && r.startMs !== null);
  const starts = counted.map((r) => r.startMs!);
  const energies = counted.map((r) => r.energyWh!);
  const ones = counted.map(() => 1);
  for (const r of corrections) {
    if (r.previous?.startMs != null && r.previous.energyWh !== null) {
      starts.push(r.previous.startMs);
      energies.push(-r.previous.energyWh);
      ones.push(-1);
    }
    starts.push(r.startMs!);
    energies.push(r.energyWh!);
    ones.push(1);
  }
  await addToDays(tx, deviceId, starts, energies, ones);
  await keepRefused(tx, device.org_id, batch, result);

  if (result.stored.length > 0) {
    const lastEnd = result.stored[result.stored.length - 1]!.endMs;
    await tx.$executeRawUnsafe(
      `UPDATE device SET read_source = coalesce(read_source, $2),
              cumulative_type = CASE WHEN $3::text IN ('delta', 'aggregate') THEN $3 ELSE cumulative_type END,
              last_cumulative_at = CASE WHEN $3::text IN ('delta', 'aggregate') THEN greatest(last_cumulative_at, $4) ELSE last_cumulative_at END
        WHERE id = $1`,
      deviceId,
      batch.source,
      batch.type,
      new Date(lastEnd),
    );
  }
  await publish(tx, device.org_id, deviceId, fresh, corrections, recordedAt, opts);
  return { ...result, deviceId };
}

async function insertReads(tx: SqlTx, orgId: string, deviceId: string, reads: NewRead[], recordedAt: string) {
  if (reads.length === 0) return;
  await tx.$executeRawUnsafe(
    `INSERT INTO meter_read (device_id, end_at, version, read_id, org_id, read_type, source, start_at, value_wh,
                             energy_wh, eligible, flags, content_hash, recorded_at)
     SELECT $1, r.end_at, 1, r.read_id, $2, r.read_type, r.source, r.start_at, r.value_wh, r.energy_wh, r.eligible,
            string_to_array(nullif(r.flags, ''), ','), r.content_hash, $3::timestamptz
       FROM unnest($4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::bigint[],
                   $10::bigint[], $11::boolean[], $12::text[], $13::text[])
         AS r(end_at, read_id, read_type, source, start_at, value_wh, energy_wh, eligible, flags, content_hash)`,
    deviceId,
    orgId,
    recordedAt,
    reads.map((r) => new Date(r.endMs).toISOString()),
    reads.map((r) => r.readId),
    reads.map((r) => r.readType),
    reads.map((r) => r.source),
    reads.map((r) => (r.startMs === null ? null : new Date(r.startMs).toISOString())),
    reads.map((r) => String(r.valueWh)),
    reads.map((r) => (r.energyWh === null ? null : String(r.energyWh))),
    reads.map((r) => r.eligible),
    reads.map((r) => r.flags.join(",")),
    reads.map((r) => r.contentHash),
  );
}

/** Adds counted energy to the day rollup (negative amounts take a corrected version's energy out). */
async function addToDays(tx: SqlTx, deviceId: string, starts: number[], energies: number[], reads: number[]) {
  if (starts.length === 0) return;
  await tx.$executeRawUnsafe(
    `INSERT INTO meter_read_day (device_id, day, energy_wh, reads)
     SELECT $1, date_trunc('day', r.start_at, 'UTC'), sum(r.energy_wh), sum(r.reads)
       FROM unnest($2::timestamptz[], $3::bigint[], $4::int[]) AS r(start_at, energy_wh, reads)
      GROUP BY 2
     ON CONFLICT (device_id, day) DO UPDATE
       SET energy_wh = meter_read_day.energy_wh + excluded.energy_wh, reads = meter_read_day.reads + excluded.reads`,
    deviceId,
    starts.map((ms) => new Date(ms).toISOString()),
    energies.map(String),
    reads,
  );
}

/** The earlier version moves to meter_read_version as it was; the row takes the new one. */
async function correctRead(tx: SqlTx, deviceId: string, read: NewRead, recordedAt: string) {
  const endAt = new Date(read.endMs);
  await tx.$executeRawUnsafe(
    `INSERT INTO meter_read_version (device_id, end_at, version, read_id, read_type, source, start_at, value_wh,
                                     energy_wh, eligible, flags, content_hash, recorded_at, superseded_at)
     SELECT device_id, end_at, version, read_id, read_type, source, start_at, value_wh, energy_wh, eligible, flags,
            content_hash, recorded_at, $3::timestamptz
       FROM meter_read WHERE device_id = $1 AND end_at = $2`,
    deviceId,
    endAt,
    recordedAt,
  );
  await tx.$executeRawUnsafe(
    `UPDATE meter_read SET version = $3, start_at = $4, value_wh = $5, energy_wh = $6, eligible = $7, flags = $8,
            content_hash = $9, recorded_at = $10::timestamptz
      WHERE device_id = $1 AND end_at = $2`,
    deviceId,
    endAt,
    read.version,
    read.startMs === null ? null : new Date(read.startMs),
    String(read.valueWh),
    read.energyWh === null ? null : String(read.energyWh),
    read.eligible,
    read.flags,
    read.contentHash,
    recordedAt,
  );
}

/** Refused reads are kept with their reasons; the same read refused for the same reasons is kept once. */
async function keepRefused(tx: SqlTx, orgId: string, batch: DeviceBatch, result: BatchResult) {
  const refused = result.outcomes.filter((o) => o.status === "refused");
  if (refused.length === 0) return;
  const reads = refused.map((o) => JSON.stringify(batch.raw(o.index) ?? null));
  const reasons = refused.map((o) => JSON.stringify(o.reasons));
  const fingerprints = refused.map((o, i) =>
    createHash("sha256")
      .update(
        `${batch.source}|${batch.type}|${batch.unit}|${reads[i]}|${o.reasons.map((r) => r.code).join(",")}`,
      )
      .digest("hex"),
  );
  await tx.$executeRawUnsafe(
    `INSERT INTO refused_read (device_id, org_id, source, read_type, read_index, read, reasons, fingerprint)
     SELECT $1, $2, $3, $4, r.idx, r.read, r.reasons, r.fingerprint
       FROM unnest($5::int[], $6::jsonb[], $7::jsonb[], $8::text[]) AS r(idx, read, reasons, fingerprint)
     ON CONFLICT (device_id, fingerprint) DO NOTHING`,
    batch.deviceId,
    orgId,
    batch.source,
    batch.type,
    refused.map((o) => o.index),
    reads,
    reasons,
    fingerprints,
  );
}

export function countedRead(read: NewRead, recordedAt: string): CountedRead {
  return {
    readId: read.readId,
    version: read.version,
    readType: read.readType,
    source: read.source,
    start: new Date(read.startMs!).toISOString(),
    end: new Date(read.endMs).toISOString(),
    energyWh: read.energyWh!,
    valueWh: read.valueWh,
    eligible: read.eligible,
    flags: read.flags,
    contentHash: read.contentHash!,
    recordedAt,
  };
}

/**
 * Counted reads (not starting points) go out in messages of READS_PER_MESSAGE, in order of end, written to
 * the outbox in one statement. The payloads are typed by the topic's schemas (event()) and built here from
 * the contract's own types (countedRead) out of values the rules checked, so they are not parsed by the
 * contract a second time (enqueueEvents' trustedPayload): doing so for 10,000 reads per request cost as much
 * CPU as checking them (test/reads-api.test.ts and the reservation's consumer hold them to the contract).
 */
async function publish(
  tx: SqlTx,
  orgId: string,
  deviceId: string,
  fresh: NewRead[],
  corrections: NewRead[],
  recordedAt: string,
  opts: StoreOptions,
) {
  const options = {
    ...(opts.correlationId ? { correlationId: opts.correlationId } : {}),
    causationId: opts.causationId ?? null,
  };
  const events: OutgoingEvent[] = [];
  const counted = fresh.filter((r) => r.energyWh !== null && r.startMs !== null);
  for (let i = 0; i < counted.length; i += READS_PER_MESSAGE) {
    const reads = counted.slice(i, i + READS_PER_MESSAGE).map((r) => countedRead(r, recordedAt));
    events.push(event(topics.meterReadRead, "reads.recorded", { deviceId, orgId, reads }, options));
  }
  for (let i = 0; i < corrections.length; i += READS_PER_MESSAGE) {
    const reads = corrections.slice(i, i + READS_PER_MESSAGE).map((r) => ({
      ...countedRead(r, recordedAt),
      version: r.version,
      previousEnergyWh: r.previous!.energyWh ?? 0,
      previousContentHash: r.previous!.contentHash ?? "0".repeat(64),
    }));
    events.push(event(topics.meterReadRead, "reads.corrected", { deviceId, orgId, reads }, options));
  }
  await enqueueEvents(tx, events, { trustedPayload: true });
}
