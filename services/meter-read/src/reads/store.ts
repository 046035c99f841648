import { createHash, randomUUID } from "node:crypto";
import {
  type CountedRead,
  type EventTypeOf,
  type ReadSource,
  type ReadType,
  topics,
} from "@energy/contracts";
import {
  createEnvelope,
  enqueueEvents,
  envelopeToHeaders,
  event,
  MessageTooLargeError,
  maxMessageBytes,
  OUTBOX_COLUMNS,
  type OutgoingEvent,
} from "@energy/kafka";
import { conflict } from "@energy/service-kit";
import { type Db, type SqlTx, sqlTransaction } from "../db.ts";
import { isoOf } from "../domain/iso.ts";
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
import { pgArray, pgPlainArray, pgTimestamps } from "./pg-array.ts";

/**
 * Counted reads per meter-read.read.v1 message: 320 (~110 KB of JSON; the contract allows up to 1,000), or
 * fewer when KAFKA_MAX_MESSAGE_BYTES is set lower (a read is ~350 bytes: room for twice that each). Under
 * 128 KB on purpose: the relay reads each payload back from PostgreSQL as a string, and a JavaScript string
 * over 128 KB is a V8 large object, mapped and unmapped by the kernel one at a time (page faults, TLB
 * flushes): at 1,000 reads (~350 KB) decoding the relay's payloads took ~2.6 s of the service's CPU per
 * million reads, at 320 ~30 ms (consumers decoding the messages gain the same). 1,000,000 reads are still
 * only a few thousand messages (a device's 1,000 reads in four).
 */
export const MAX_READS_PER_MESSAGE = 320;
export const readsPerMessage = () =>
  Math.max(1, Math.min(MAX_READS_PER_MESSAGE, Math.floor(maxMessageBytes() / 700)));
/**
 * Outbox rows per relay transaction (~2.7 MB); the relay sends them in chunks under the broker's message size
 * limit (about nine such messages per send).
 */
export const RELAY_BATCH_SIZE = 24;

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

/**
 * One advisory lock per device (a 64-bit key of its id): one writer per device at a time, in every
 * instance. All of a request's devices in one statement, in one order (by id, byte-wise) wherever locks
 * are taken, so two requests never wait on each other in a circle.
 */
export const lockDevices = (tx: SqlTx, deviceIds: readonly string[]) =>
  tx.$queryRawUnsafe(
    `SELECT count(pg_advisory_xact_lock(hashtextextended(id, 7242301)))
       FROM (SELECT id FROM unnest($1::text::text[]) AS id ORDER BY id COLLATE "C") AS ids`,
    pgArray(deviceIds),
  );

/** What a device's batch needs loaded, for every device of the request at once. */
interface Loaded {
  devices: Map<string, DeviceRow>;
  capacity: Map<string, CapacityEntry[]>;
  switches: Map<string, Array<{ fromMs: number; source: ReadSource }>>;
}

export async function loadDevices(tx: SqlTx, deviceIds: readonly string[]): Promise<Loaded> {
  const ids = pgArray(deviceIds);
  const devices = await tx.$queryRawUnsafe<DeviceRow[]>(
    `SELECT d.id, d.org_id, d.commissioning_date, d.onboarded_at, d.yield_value, d.cumulative_type, d.read_source,
            d.last_cumulative_at, s.timezone
       FROM device d LEFT JOIN site s ON s.id = d.site_id WHERE d.id = ANY($1::text::text[])`,
    ids,
  );
  const capacityRows = await tx.$queryRawUnsafe<
    Array<{ device_id: string; from_at: Date; capacity_w: number }>
  >(
    "SELECT device_id, from_at, capacity_w FROM device_capacity WHERE device_id = ANY($1::text::text[]) ORDER BY device_id, from_at",
    ids,
  );
  const switchRows = await tx.$queryRawUnsafe<
    Array<{ device_id: string; from_at: Date; source: ReadSource }>
  >(
    "SELECT device_id, from_at, source FROM device_read_source WHERE device_id = ANY($1::text::text[]) ORDER BY device_id, from_at",
    ids,
  );
  const group = <R extends { device_id: string }, V>(rows: R[], map: (row: R) => V) => {
    const out = new Map<string, V[]>();
    for (const row of rows) {
      const list = out.get(row.device_id) ?? [];
      out.set(row.device_id, list);
      list.push(map(row));
    }
    return out;
  };
  return {
    devices: new Map(devices.map((d) => [d.id, d])),
    capacity: group(capacityRows, (r) => ({ fromMs: r.from_at.getTime(), capacityW: r.capacity_w })),
    switches: group(switchRows, (r) => ({ fromMs: r.from_at.getTime(), source: r.source })),
  };
}

/** What the request writes, gathered over its devices and written in one statement per table. */
interface Writes {
  fresh: Array<{ orgId: string; deviceId: string; read: NewRead }>;
  corrections: Array<{ deviceId: string; read: NewRead }>;
  days: { deviceIds: string[]; starts: number[]; energies: number[]; reads: number[] };
  refused: Array<{ deviceId: string; orgId: string; batch: DeviceBatch; result: BatchResult }>;
  devices: Array<{ deviceId: string; source: ReadSource; type: ReadType; lastEndMs: number }>;
  events: OutgoingEvent[];
}

/**
 * Checks and stores the batches of one request in one transaction: every device locked and loaded at
 * once, each device's stored reads loaded once, the rules applied (domain/read-rules.ts), then the new
 * reads, the day rollup, the refused reads, the devices and the outbox written with one statement each,
 * the counted reads in messages of readsPerMessage().
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
  const ids = ordered.map((b) => b.deviceId);
  await lockDevices(tx, ids);
  const loaded = await loadDevices(tx, ids);
  const recordedAt = new Date(opts.nowMs).toISOString();
  const writes: Writes = {
    fresh: [],
    corrections: [],
    days: { deviceIds: [], starts: [], energies: [], reads: [] },
    refused: [],
    devices: [],
    events: [],
  };
  const results: DeviceResult[] = [];
  for (const batch of ordered)
    results.push(await checkDeviceBatch(tx, batch, loaded, writes, recordedAt, opts));
  await insertReads(tx, writes.fresh, recordedAt, opts);
  for (const { deviceId, read } of writes.corrections) await correctRead(tx, deviceId, read, recordedAt);
  await addToDays(tx, writes.days);
  await keepRefused(tx, writes.refused);
  await updateDevices(tx, writes.devices);
  await enqueueEvents(tx, writes.events, { trustedPayload: true });
  return results;
}

async function checkDeviceBatch(
  tx: SqlTx,
  batch: DeviceBatch,
  loaded: Loaded,
  writes: Writes,
  recordedAt: string,
  opts: StoreOptions,
): Promise<DeviceResult> {
  const { deviceId } = batch;
  const device = loaded.devices.get(deviceId);
  if (!device) throw new Error(`device ${deviceId} is not in the projection`);
  if (batch.type !== "history" && device.cumulative_type !== null && device.cumulative_type !== batch.type) {
    throw conflict(
      "read_type_switch_refused",
      `device ${deviceId} reports ${device.cumulative_type} reads; switching between delta and aggregate is not allowed (history reads are)`,
    );
  }

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
      capacityLog: loaded.capacity.get(deviceId) ?? [],
      commissionedMs: device.commissioning_date ? startOfDate(device.commissioning_date, timezone) : null,
      yieldKwhPerKw: device.yield_value,
      onboardedMs: device.onboarded_at?.getTime() ?? null,
      cumulativeType: device.cumulative_type,
      source: device.read_source,
      sourceSwitches: loaded.switches.get(deviceId) ?? [],
    },
    existing,
    lastCumulative,
    historyAfterLastCumulative,
    nowMs: opts.nowMs,
    futureToleranceMs: opts.futureToleranceMs,
    newReadId: () => `mrd-${randomUUID()}`,
  });

  const fresh: NewRead[] = [];
  const corrections: NewRead[] = [];
  for (const r of result.stored) (r.previous === null ? fresh : corrections).push(r);
  const { days } = writes;
  for (const read of fresh) {
    writes.fresh.push({ orgId: device.org_id, deviceId, read });
    if (read.energyWh !== null && read.startMs !== null) {
      days.deviceIds.push(deviceId);
      days.starts.push(read.startMs);
      days.energies.push(read.energyWh);
      days.reads.push(1);
    }
  }
  for (const read of corrections) {
    writes.corrections.push({ deviceId, read });
    if (read.previous?.startMs != null && read.previous.energyWh !== null) {
      days.deviceIds.push(deviceId);
      days.starts.push(read.previous.startMs);
      days.energies.push(-read.previous.energyWh);
      days.reads.push(-1);
    }
    days.deviceIds.push(deviceId);
    days.starts.push(read.startMs!);
    days.energies.push(read.energyWh!);
    days.reads.push(1);
  }
  if (result.outcomes.some((o) => o.status === "refused"))
    writes.refused.push({ deviceId, orgId: device.org_id, batch, result });
  if (result.stored.length > 0) {
    const lastEndMs = result.stored[result.stored.length - 1]!.endMs;
    writes.devices.push({ deviceId, source: batch.source, type: batch.type, lastEndMs });
  }
  writes.events.push(...correctionEvents(device.org_id, deviceId, corrections, recordedAt, opts));
  return { ...result, deviceId };
}

/** The event type insertReads writes, checked against the topic's catalog by the compiler. */
const RECORDED = "reads.recorded" satisfies EventTypeOf<typeof topics.meterReadRead>;

/**
 * The new reads of every device of the request and their reads.recorded events, in one statement (array
 * literals: see pg-array.ts). The events' payloads are made by PostgreSQL from the same arrays (the contract's
 * CountedRead, its fields in the contract's order, compact JSON as JSON.stringify writes it): building ~350
 * bytes of JSON per read in JavaScript, and sending it to the database a second time, was a fifth of the
 * service's CPU per read, on the one thread that also parses, checks and answers (the database's work runs on
 * the other core). Counted reads only (not starting points), in messages of readsPerMessage() per device in
 * order of end, queued in the order of the request's devices; ids, read ids, types, sources, hashes, flags and
 * ISO timestamps are the service's own and JSON-safe, the device and organization ids are quoted by to_json.
 */
async function insertReads(tx: SqlTx, rows: Writes["fresh"], recordedAt: string, opts: StoreOptions) {
  if (rows.length === 0) return;
  const n = rows.length;
  const deviceIds = new Array<string>(n);
  const orgIds = new Array<string>(n);
  const ends = new Array<number>(n);
  const readIds = new Array<string>(n);
  const types = new Array<string>(n);
  const sources = new Array<string>(n);
  const starts = new Array<number | null>(n);
  const values = new Array<number>(n);
  const energies = new Array<number | null>(n);
  const eligible = new Array<boolean>(n);
  const flags = new Array<string>(n);
  const hashes = new Array<string | null>(n);
  for (let i = 0; i < n; i++) {
    const { deviceId, orgId, read } = rows[i]!;
    deviceIds[i] = deviceId;
    orgIds[i] = orgId;
    ends[i] = read.endMs;
    readIds[i] = read.readId;
    types[i] = read.readType;
    sources[i] = read.source;
    starts[i] = read.startMs;
    values[i] = read.valueWh;
    energies[i] = read.energyWh;
    eligible[i] = read.eligible;
    flags[i] = read.flags.join(",");
    hashes[i] = read.contentHash;
  }
  const correlationId = opts.correlationId ?? null;
  const causationId = opts.causationId ?? null;
  const occurredAt = new Date().toISOString();
  const [written] = await tx.$queryRawUnsafe<Array<{ largest: number | null; key: string | null }>>(
    // The instants are read once (end_ts, start_ts) and kept as text too (end_at, start_at), as the
    // payloads print them.
    `WITH r AS MATERIALIZED (
       SELECT u.*, u.end_at::timestamptz AS end_ts, u.start_at::timestamptz AS start_ts
         FROM unnest($2::text::text[], $3::text::text[], $4::text::text[], $5::text::text[], $6::text::text[], $7::text::text[], $8::text::text[],
                     $9::text::text[], $10::text::text[], $11::text::text[], $12::text::text[], $13::text::text[]) WITH ORDINALITY
           AS u(device_id, org_id, end_at, read_id, read_type, source, start_at, value_wh, energy_wh, eligible, flags,
                content_hash, n)
     ), stored AS (
       INSERT INTO meter_read (device_id, end_at, version, read_id, org_id, read_type, source, start_at, value_wh,
                               energy_wh, eligible, flags, content_hash, recorded_at)
       SELECT r.device_id, r.end_ts, 1, r.read_id, r.org_id, r.read_type, r.source, r.start_ts,
              r.value_wh::bigint, r.energy_wh::bigint, r.eligible::boolean, string_to_array(nullif(r.flags, ''), ','),
              r.content_hash, $1::timestamptz
         FROM r
     ), counted AS (
       SELECT r.*, (row_number() OVER (PARTITION BY r.device_id ORDER BY r.end_ts) - 1) / $14 AS chunk
         FROM r WHERE r.energy_wh IS NOT NULL AND r.start_at IS NOT NULL
     ), messages AS (
       SELECT gen_random_uuid() AS id, c.device_id, min(c.n) AS n,
              concat('{"deviceId":', to_json(c.device_id)::text, ',"orgId":', to_json(c.org_id)::text, ',"reads":[',
                     string_agg(concat('{"readId":"', c.read_id, '","version":1,"readType":"', c.read_type,
                                       '","source":"', c.source, '","start":"', c.start_at, '","end":"', c.end_at,
                                       '","energyWh":', c.energy_wh, ',"valueWh":', c.value_wh, ',"eligible":', c.eligible,
                                       ',"flags":', CASE WHEN c.flags = '' THEN '[]' ELSE concat('["', replace(c.flags, ',', '","'), '"]') END,
                                       ',"contentHash":"', c.content_hash, '","recordedAt":"', $19::text, '"}'),
                                ',' ORDER BY c.end_ts),
                     ']}') AS payload
         FROM counted c GROUP BY c.device_id, c.org_id, c.chunk
     ), queued AS (
       INSERT INTO outbox (${OUTBOX_COLUMNS})
       SELECT m.id, $15, m.device_id, $20, 1, m.payload, coalesce($16, m.id::text), $17,
              $18::timestamptz
         FROM messages m ORDER BY m.n
     )
     SELECT octet_length(m.payload) AS largest, m.device_id AS key FROM messages m
      ORDER BY octet_length(m.payload) + octet_length(m.device_id) DESC LIMIT 1`,
    recordedAt,
    pgArray(deviceIds),
    pgArray(orgIds),
    pgTimestamps(ends),
    // read ids (mrd-<uuid>), types, sources and hex hashes are the service's own: nothing to quote
    pgPlainArray(readIds),
    pgPlainArray(types),
    pgPlainArray(sources),
    pgTimestamps(starts),
    pgPlainArray(values),
    pgPlainArray(energies),
    pgPlainArray(eligible),
    pgArray(flags),
    pgPlainArray(hashes),
    readsPerMessage(),
    topics.meterReadRead.name,
    correlationId,
    causationId,
    occurredAt,
    recordedAt,
    RECORDED,
  );
  // The size check enqueueEvents makes (a message the broker can never take fails the request, 413), on the
  // largest message: its payload, key and envelope header.
  if (written?.largest != null && written.key !== null) {
    const envelope = createEnvelope({
      type: RECORDED,
      source: topics.meterReadRead.owner,
      occurredAt,
      ...(correlationId ? { correlationId } : {}),
      causationId,
    });
    let bytes = written.largest + Buffer.byteLength(written.key);
    for (const [name, value] of Object.entries(envelopeToHeaders(envelope)))
      bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
    const limit = maxMessageBytes();
    if (bytes > limit)
      throw new MessageTooLargeError(bytes, limit, `${RECORDED} on ${topics.meterReadRead.name}`);
  }
}

/** Adds counted energy to the day rollup (negative amounts take a corrected version's energy out). */
async function addToDays(tx: SqlTx, days: Writes["days"]) {
  if (days.starts.length === 0) return;
  await tx.$executeRawUnsafe(
    `INSERT INTO meter_read_day (device_id, day, energy_wh, reads)
     SELECT r.device_id, date_trunc('day', r.start_at, 'UTC'), sum(r.energy_wh), sum(r.reads)
       FROM unnest($1::text::text[], $2::text::timestamptz[], $3::text::bigint[], $4::text::int[]) AS r(device_id, start_at, energy_wh, reads)
      GROUP BY 1, 2
     ON CONFLICT (device_id, day) DO UPDATE
       SET energy_wh = meter_read_day.energy_wh + excluded.energy_wh, reads = meter_read_day.reads + excluded.reads`,
    pgArray(days.deviceIds),
    pgTimestamps(days.starts),
    pgPlainArray(days.energies),
    pgPlainArray(days.reads),
  );
}

/** Each device's source (its first read's), cumulative type and the end of its latest delta/aggregate read. */
async function updateDevices(tx: SqlTx, devices: Writes["devices"]) {
  if (devices.length === 0) return;
  await tx.$executeRawUnsafe(
    `UPDATE device SET read_source = coalesce(device.read_source, u.source),
            cumulative_type = CASE WHEN u.type IN ('delta', 'aggregate') THEN u.type ELSE device.cumulative_type END,
            last_cumulative_at = CASE WHEN u.type IN ('delta', 'aggregate')
                                      THEN greatest(device.last_cumulative_at, u.last_end) ELSE device.last_cumulative_at END
       FROM unnest($1::text::text[], $2::text::text[], $3::text::text[], $4::text::timestamptz[]) AS u(id, source, type, last_end)
      WHERE device.id = u.id`,
    pgArray(devices.map((d) => d.deviceId)),
    pgArray(devices.map((d) => d.source)),
    pgArray(devices.map((d) => d.type)),
    pgTimestamps(devices.map((d) => d.lastEndMs)),
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
async function keepRefused(tx: SqlTx, batches: Writes["refused"]) {
  const deviceIds: string[] = [];
  const orgIds: string[] = [];
  const sources: string[] = [];
  const types: string[] = [];
  const indexes: number[] = [];
  const reads: string[] = [];
  const reasons: string[] = [];
  const fingerprints: string[] = [];
  for (const { deviceId, orgId, batch, result } of batches) {
    for (const o of result.outcomes) {
      if (o.status !== "refused") continue;
      const read = JSON.stringify(batch.raw(o.index) ?? null);
      deviceIds.push(deviceId);
      orgIds.push(orgId);
      sources.push(batch.source);
      types.push(batch.type);
      indexes.push(o.index);
      reads.push(read);
      reasons.push(JSON.stringify(o.reasons));
      fingerprints.push(
        createHash("sha256")
          .update(
            `${batch.source}|${batch.type}|${batch.unit}|${read}|${o.reasons.map((r) => r.code).join(",")}`,
          )
          .digest("hex"),
      );
    }
  }
  if (indexes.length === 0) return;
  // The reads and reasons as JSON arrays (one text parameter each, see pg-array.ts).
  await tx.$executeRawUnsafe(
    `INSERT INTO refused_read (device_id, org_id, source, read_type, read_index, read, reasons, fingerprint)
     SELECT r.device_id, r.org_id, r.source, r.read_type, r.idx, j.read, k.reasons, r.fingerprint
       FROM unnest($1::text::text[], $2::text::text[], $3::text::text[], $4::text::text[], $5::text::int[], $8::text::text[]) WITH ORDINALITY
            AS r(device_id, org_id, source, read_type, idx, fingerprint, n)
       JOIN jsonb_array_elements($6::jsonb) WITH ORDINALITY AS j(read, n) ON j.n = r.n
       JOIN jsonb_array_elements($7::jsonb) WITH ORDINALITY AS k(reasons, n) ON k.n = r.n
     ON CONFLICT (device_id, fingerprint) DO NOTHING`,
    pgArray(deviceIds),
    pgArray(orgIds),
    pgArray(sources),
    pgArray(types),
    pgArray(indexes),
    `[${reads.join(",")}]`,
    `[${reasons.join(",")}]`,
    pgArray(fingerprints),
  );
}

export function countedRead(read: NewRead, recordedAt: string): CountedRead {
  return {
    readId: read.readId,
    version: read.version,
    readType: read.readType,
    source: read.source,
    start: isoOf(read.startMs!),
    end: isoOf(read.endMs),
    energyWh: read.energyWh!,
    valueWh: read.valueWh,
    eligible: read.eligible,
    flags: read.flags,
    contentHash: read.contentHash!,
    recordedAt,
  };
}

/**
 * Corrections (telemetry's new versions) go out as reads.corrected in messages of readsPerMessage(), through
 * enqueueEvents with the rest of the request (new reads' reads.recorded are written by insertReads). The
 * payloads are typed by the topic's schemas (event()) and built here from the contract's own types
 * (countedRead) out of values the rules checked, so they are not parsed by the contract a second time
 * (enqueueEvents' trustedPayload; test/telemetry.test.ts and the reservation's consumer hold them to it).
 */
function correctionEvents(
  orgId: string,
  deviceId: string,
  corrections: NewRead[],
  recordedAt: string,
  opts: StoreOptions,
): OutgoingEvent[] {
  if (corrections.length === 0) return [];
  const options = {
    ...(opts.correlationId ? { correlationId: opts.correlationId } : {}),
    causationId: opts.causationId ?? null,
  };
  const events: OutgoingEvent[] = [];
  const perMessage = readsPerMessage();
  for (let i = 0; i < corrections.length; i += perMessage) {
    const reads = corrections.slice(i, i + perMessage).map((r) => ({
      ...countedRead(r, recordedAt),
      version: r.version,
      previousEnergyWh: r.previous!.energyWh ?? 0,
      previousContentHash: r.previous!.contentHash ?? "0".repeat(64),
    }));
    events.push(event(topics.meterReadRead, "reads.corrected", { deviceId, orgId, reads }, options));
  }
  return events;
}
