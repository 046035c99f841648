import {
  type DeviceState,
  type Interval,
  type ReadingsAccepted,
  type TelemetryReading,
  topics,
} from "@energy/contracts";
import { enqueueEvents, event, type OutgoingEvent } from "@energy/kafka";
import { type Db, type SqlTx, sqlTransaction } from "../db.ts";
import {
  COUNTERS,
  type CounterPoint,
  ENERGY_COLUMN_SQL,
  ENERGY_COLUMNS,
  type EnergyColumn,
  INTERVAL_MS,
  intervalDeltas,
  intervalStartOf,
} from "../domain/intervals.ts";
import { mergeNewest, type TwinFields, twinCounter } from "../domain/twin.ts";

type Tx = SqlTx;

/** One reading of a `readings.accepted` message (ingestion.telemetry.v1) with its DER and batch. */
export type AcceptedReading = Omit<ReadingsAccepted, "readings"> & { reading: TelemetryReading };

export interface ApplyResult {
  /** Readings stored for the first time (the rest were already stored: redelivered or sent twice). */
  stored: number;
  duplicates: number;
  intervalsComputed: number;
  intervalsCorrected: number;
  devicesBackActive: number;
}

interface TwinRow {
  der_id: string;
  fields: TwinFields;
  last_reading_at: Date;
  last_received_at: Date;
}

interface IntervalRow {
  der_id: string;
  interval_start: Date;
  device_id: string;
  org_id: string;
  der_type: string;
  generation_wh: number | null;
  import_wh: number | null;
  export_wh: number | null;
  charge_wh: number | null;
  discharge_wh: number | null;
  reading_count: number;
  published_at: Date | null;
}

/** The readings of `readings.accepted` messages, one by one. */
export function eachReading(messages: readonly ReadingsAccepted[]): AcceptedReading[] {
  const out: AcceptedReading[] = [];
  for (const m of messages) {
    // one object literal of a fixed shape per reading (a spread copies key by key: the store's hottest loop)
    for (const reading of m.readings) {
      out.push({
        derId: m.derId,
        deviceId: m.deviceId,
        siteId: m.siteId,
        orgId: m.orgId,
        gatewayId: m.gatewayId,
        receivedAt: m.receivedAt,
        reading,
      });
    }
  }
  return out;
}

/**
 * Applies accepted readings in one transaction: stores each new reading (a DER's reading at a time
 * already stored is a duplicate and changes nothing, so redelivery never counts energy twice), moves
 * the DERs' twins forward, adds the energy between counter readings to the half-hours it spans
 * (out-of-order readings move energy between half-hours and publish corrections), marks devices heard
 * from, and puts the interval and liveness events in the outbox.
 */
export async function applyReadings(db: Db, batch: readonly AcceptedReading[]): Promise<ApplyResult> {
  try {
    return await sqlTransaction(db, (tx) => applyInTx(tx, batch, true));
  } catch (error) {
    // A reading newer than its twin was stored already (see storeNewReadings): none should be, but
    // correctness must not hang on it. The whole chunk again, every reading checked against the table.
    if (!(error instanceof CopyConflict)) throw error;
    return sqlTransaction(db, (tx) => applyInTx(tx, batch, false));
  }
}

async function applyInTx(tx: Tx, batch: readonly AcceptedReading[], copy: boolean): Promise<ApplyResult> {
  // The batch's twins first, locked (in der_id order: no deadlock with a concurrent chunk): a DER's
  // stored readings are never newer than its twin's last reading, which tells new readings apart.
  const twins = await lockTwins(tx, [...new Set(batch.map((r) => r.derId))]);
  const fresh = await storeNewReadings(tx, batch, twins, copy);
  const result: ApplyResult = {
    stored: fresh.length,
    duplicates: batch.length - fresh.length,
    intervalsComputed: 0,
    intervalsCorrected: 0,
    devicesBackActive: 0,
  };
  if (fresh.length === 0) return result;

  const byDer = groupBy(fresh, (r) => r.derId);
  const changes = new IntervalChanges();
  const nextTwins: TwinRow[] = [];
  for (const [derId, readings] of byDer) {
    readings.sort((a, b) => a.reading.timestamp - b.reading.timestamp);
    const twin = twins.get(derId);
    await addEnergy(tx, derId, readings, twin?.fields ?? {}, changes);
    countReadings(changes, derId, readings);
    nextTwins.push(nextTwin(derId, readings, twin));
  }
  await saveTwins(tx, byDer, nextTwins);
  const touched = await changes.save(tx);
  const completed = await publishCompleted(tx, [...byDer.keys()]);
  const events: OutgoingEvent[] = [];
  for (const row of touched) {
    if (row.published_at === null) continue;
    events.push(event(topics.ingestionInterval, "interval.corrected", intervalPayload(row)));
    result.intervalsCorrected++;
  }
  for (const row of completed) {
    events.push(event(topics.ingestionInterval, "interval.computed", intervalPayload(row)));
  }
  result.intervalsComputed = completed.length;
  result.devicesBackActive = await markHeardFrom(tx, fresh, events);
  // One statement for all of the chunk's events, in the order above (the relay publishes in that order).
  await enqueueEvents(tx, events);
  return result;
}

/** The COPY of a chunk's new readings met one stored already: the chunk is applied again without COPY. */
class CopyConflict extends Error {}

/**
 * A column of COPY's text format: backslash, newline, carriage return and tab escaped, so a value `\N`
 * stays text (unescaped it means NULL). JSON text has no raw control characters and ids have no
 * backslash, so the usual value is returned as it is after one scan.
 */
export const copyText = (text: string): string =>
  COPY_SPECIAL.test(text) ? text.replace(COPY_SPECIALS, (c) => COPY_ESCAPES[c]!) : text;
const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_SPECIALS = /[\\\n\r\t]/g;
const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * Inserts the batch into the raw reading table; returns the readings that were not there yet (a reading
 * given twice in one batch counts once: its first copy).
 *
 * A reading newer than its DER's twin (locked by the caller) cannot be stored yet: the twin moves forward
 * in the transaction that stores a reading. Those, the usual case, go in with one `COPY`, PostgreSQL's
 * bulk path (about 3 times the rows per second of an INSERT … SELECT into this table: bench/store-alone.ts).
 * The rest (late readings, redeliveries, DERs without a twin yet) are inserted with ON CONFLICT DO
 * NOTHING, which tells which were new. Should the COPY still meet a stored reading (a row written around
 * the store), it fails the transaction and applyReadings applies the chunk again without COPY (`copy` false).
 */
async function storeNewReadings(
  tx: Tx,
  batch: readonly AcceptedReading[],
  twins: Map<string, TwinRow>,
  copy: boolean,
): Promise<AcceptedReading[]> {
  const surelyNew: AcceptedReading[] = [];
  const others: AcceptedReading[] = [];
  // the timestamps taken per DER: a reading given twice in the chunk is stored once
  const taken = new Map<string, Set<number>>();
  for (const r of batch) {
    const twin = copy ? twins.get(r.derId) : undefined;
    if (twin && r.reading.timestamp > twin.last_reading_at.getTime()) {
      let times = taken.get(r.derId);
      if (!times) {
        times = new Set();
        taken.set(r.derId, times);
      }
      if (times.has(r.reading.timestamp)) continue;
      times.add(r.reading.timestamp);
      surelyNew.push(r);
    } else others.push(r);
  }
  if (surelyNew.length > 0) {
    let text = "";
    for (const r of surelyNew) {
      text +=
        `${copyText(r.derId)}\t${new Date(r.reading.timestamp).toISOString()}\t${r.receivedAt}\t${copyText(r.deviceId)}\t` +
        `${r.gatewayId === null ? "\\N" : copyText(r.gatewayId)}\t${copyText(JSON.stringify(r.reading))}\n`;
    }
    try {
      await tx.copyFrom(
        "COPY reading (der_id, reading_at, received_at, device_id, gateway_id, reading) FROM STDIN",
        text,
      );
    } catch (error) {
      if ((error as { code?: string }).code === "23505") throw new CopyConflict((error as Error).message);
      throw error;
    }
  }
  if (others.length === 0) return surelyNew;
  return surelyNew.concat(await insertIfNew(tx, others));
}

/**
 * Inserts readings unless stored already; returns those that were not. The rows go as one JSON text (one
 * JSON.stringify, parsed once by PostgreSQL) rather than six array parameters, whose literals pg builds
 * and escapes element by element in JS; and the answer is one row: the number inserted, with the keys of
 * those inserted only when some were not (a duplicate), the usual case needing none.
 */
async function insertIfNew(tx: Tx, batch: readonly AcceptedReading[]): Promise<AcceptedReading[]> {
  const rows = batch.map((r) => ({
    d: r.derId,
    t: r.reading.timestamp,
    r: r.receivedAt,
    v: r.deviceId,
    g: r.gatewayId,
    j: r.reading,
  }));
  const [answer] = await tx.$queryRawUnsafe<Array<{ n: number; keys: Array<[string, number]> | null }>>(
    `WITH ins AS (
       INSERT INTO reading (der_id, reading_at, received_at, device_id, gateway_id, reading)
       SELECT r.d, to_timestamp(r.t / 1000.0), r.r, r.v, r.g, r.j
         FROM json_to_recordset($1::json) AS r(d text, t bigint, r timestamptz, v text, g text, j jsonb)
       ON CONFLICT DO NOTHING
       RETURNING der_id, reading_at)
     SELECT count(*)::int AS n,
            CASE WHEN count(*) < $2 THEN
              json_agg(json_build_array(der_id, round(extract(epoch FROM reading_at) * 1000)::bigint))
            END AS keys
       FROM ins`,
    JSON.stringify(rows),
    batch.length,
  );
  // All inserted: the batch had no reading stored already nor any twice.
  if (!answer?.keys) return answer && answer.n === batch.length ? [...batch] : [];
  const inserted = new Set(answer.keys.map(([derId, at]) => `${derId}@${at}`));
  // A reading given twice in one batch is inserted once; keep its first copy only.
  return batch.filter((r) => inserted.delete(`${r.derId}@${r.reading.timestamp}`));
}

async function lockTwins(tx: Tx, derIds: string[]): Promise<Map<string, TwinRow>> {
  const rows = await tx.$queryRawUnsafe<TwinRow[]>(
    `SELECT der_id, fields, last_reading_at, last_received_at FROM twin
      WHERE der_id = ANY($1::text[]) ORDER BY der_id FOR UPDATE`,
    derIds,
  );
  return new Map(rows.map((row) => [row.der_id, row]));
}

/** The energy each counter of the new readings adds to (or, out of order, moves between) half-hours. */
async function addEnergy(
  tx: Tx,
  derId: string,
  readings: AcceptedReading[],
  twin: TwinFields,
  changes: IntervalChanges,
): Promise<void> {
  const first = readings[0]!;
  for (const [field, column] of Object.entries(COUNTERS[first.reading.type])) {
    if (!column) continue;
    const added: CounterPoint[] = [];
    for (const r of readings) {
      const value = (r.reading as Record<string, unknown>)[field];
      if (typeof value === "number") added.push({ at: r.reading.timestamp, value });
    }
    if (added.length === 0) continue;
    const last = twinCounter(twin, field);
    // In order (the usual case): the twin holds the counter's latest value, the only neighbour needed.
    const stored =
      last === undefined || last.at < added[0]!.at
        ? last
          ? [last]
          : []
        : await storedNeighbours(tx, derId, field, added);
    for (const [start, wh] of intervalDeltas(stored, added)) changes.add(derId, start, column, wh, first);
  }
}

/**
 * A counter's stored values from the last one before the earliest added value to the first one after
 * the latest (the new readings are in the table already: their times are left out).
 */
async function storedNeighbours(
  tx: Tx,
  derId: string,
  field: string,
  added: CounterPoint[],
): Promise<CounterPoint[]> {
  const from = new Date(added[0]!.at);
  const to = new Date(added[added.length - 1]!.at);
  const rows = await tx.$queryRawUnsafe<Array<{ at: Date; value: number }>>(
    `(SELECT reading_at AS at, (reading->>$2)::float8 AS value FROM reading
       WHERE der_id = $1 AND reading_at < $3 AND reading->>$2 IS NOT NULL
       ORDER BY reading_at DESC LIMIT 1)
     UNION ALL
     (SELECT reading_at, (reading->>$2)::float8 FROM reading
       WHERE der_id = $1 AND reading_at BETWEEN $3 AND $4 AND reading->>$2 IS NOT NULL)
     UNION ALL
     (SELECT reading_at, (reading->>$2)::float8 FROM reading
       WHERE der_id = $1 AND reading_at > $4 AND reading->>$2 IS NOT NULL
       ORDER BY reading_at ASC LIMIT 1)`,
    derId,
    field,
    from,
    to,
  );
  const addedTimes = new Set(added.map((p) => p.at));
  return rows
    .map((row) => ({ at: row.at.getTime(), value: row.value }))
    .filter((p) => !addedTimes.has(p.at))
    .sort((a, b) => a.at - b.at);
}

/** The twin after a DER's new readings, given in time order (equal to merging them one by one: mergeNewest). */
function nextTwin(derId: string, readings: AcceptedReading[], twin: TwinRow | undefined): TwinRow {
  const fields = mergeNewest(
    { ...twin?.fields },
    readings.map((r) => r.reading),
  );
  let lastReadingAt = twin?.last_reading_at.getTime() ?? 0;
  let lastReceivedAt = twin?.last_received_at.getTime() ?? 0;
  let receivedAt = "";
  for (const r of readings) {
    lastReadingAt = Math.max(lastReadingAt, r.reading.timestamp);
    // a message's readings share one receivedAt: parsed once per run of equal ones
    if (r.receivedAt !== receivedAt) {
      receivedAt = r.receivedAt;
      lastReceivedAt = Math.max(lastReceivedAt, Date.parse(receivedAt));
    }
  }
  return {
    der_id: derId,
    fields,
    last_reading_at: new Date(lastReadingAt),
    last_received_at: new Date(lastReceivedAt),
  };
}

async function saveTwins(tx: Tx, byDer: Map<string, AcceptedReading[]>, twins: TwinRow[]): Promise<void> {
  const scope = (derId: string) => byDer.get(derId)![0]!;
  await tx.$executeRawUnsafe(
    `INSERT INTO twin (der_id, device_id, site_id, org_id, der_type, reading_type, fields, last_reading_at, last_received_at)
     SELECT t.der_id, t.device_id, t.site_id, t.org_id, COALESCE(der.der_type, t.reading_type), t.reading_type,
            t.fields, t.last_reading_at, t.last_received_at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[], $8::timestamptz[])
            AS t(der_id, device_id, site_id, org_id, reading_type, fields, last_reading_at, last_received_at)
       LEFT JOIN der ON der.id = t.der_id
     ON CONFLICT (der_id) DO UPDATE SET
       fields = excluded.fields, reading_type = excluded.reading_type,
       last_reading_at = excluded.last_reading_at, last_received_at = excluded.last_received_at`,
    twins.map((t) => t.der_id),
    twins.map((t) => scope(t.der_id).deviceId),
    twins.map((t) => scope(t.der_id).siteId),
    twins.map((t) => scope(t.der_id).orgId),
    twins.map((t) => scope(t.der_id).reading.type),
    twins.map((t) => JSON.stringify(t.fields)),
    twins.map((t) => t.last_reading_at),
    twins.map((t) => t.last_received_at),
  );
}

/** Changes to half-hours gathered over a batch, saved with one statement. */
class IntervalChanges {
  private readonly rows = new Map<
    string,
    {
      derId: string;
      start: number;
      scope: AcceptedReading;
      energy: Partial<Record<EnergyColumn, number>>;
      count: number;
    }
  >();

  private row(derId: string, start: number, scope: AcceptedReading) {
    const key = `${derId}@${start}`;
    let row = this.rows.get(key);
    if (!row) {
      row = { derId, start, scope, energy: {}, count: 0 };
      this.rows.set(key, row);
    }
    return row;
  }

  add(derId: string, start: number, column: EnergyColumn, wh: number, scope: AcceptedReading) {
    const row = this.row(derId, start, scope);
    row.energy[column] = (row.energy[column] ?? 0) + wh;
  }

  count(derId: string, start: number, scope: AcceptedReading, readings = 1) {
    this.row(derId, start, scope).count += readings;
  }

  /** Adds the changes; returns the rows as they are now (published_at tells whether it was out already). */
  async save(tx: Tx): Promise<IntervalRow[]> {
    if (this.rows.size === 0) return [];
    const rows = [...this.rows.values()];
    const energy = (column: EnergyColumn) => rows.map((r) => r.energy[column] ?? null);
    const sets = ENERGY_COLUMNS.map((c) => {
      const col = ENERGY_COLUMN_SQL[c];
      return `${col} = CASE WHEN excluded.${col} IS NULL THEN energy_interval.${col}
                            ELSE COALESCE(energy_interval.${col}, 0) + excluded.${col} END`;
    }).join(",\n       ");
    return tx.$queryRawUnsafe<IntervalRow[]>(
      `INSERT INTO energy_interval (der_id, interval_start, device_id, site_id, org_id, der_type,
              generation_wh, import_wh, export_wh, charge_wh, discharge_wh, reading_count, updated_at)
       SELECT i.der_id, i.start, i.device_id, i.site_id, i.org_id, COALESCE(der.der_type, i.der_type),
              i.g, i.im, i.ex, i.ch, i.dis, i.n, now()
         FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::float8[], $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::int[])
              AS i(der_id, start, device_id, site_id, org_id, der_type, g, im, ex, ch, dis, n)
         LEFT JOIN der ON der.id = i.der_id
        ORDER BY i.der_id, i.start
       ON CONFLICT (der_id, interval_start) DO UPDATE SET
       ${sets},
       reading_count = energy_interval.reading_count + excluded.reading_count,
       corrections = energy_interval.corrections + CASE WHEN energy_interval.published_at IS NULL THEN 0 ELSE 1 END,
       updated_at = now()
       RETURNING der_id, interval_start, device_id, org_id, der_type, generation_wh, import_wh, export_wh,
                 charge_wh, discharge_wh, reading_count, published_at`,
      rows.map((r) => r.derId),
      rows.map((r) => new Date(r.start)),
      rows.map((r) => r.scope.deviceId),
      rows.map((r) => r.scope.siteId),
      rows.map((r) => r.scope.orgId),
      rows.map((r) => r.scope.reading.type),
      energy("generationWh"),
      energy("importWh"),
      energy("exportWh"),
      energy("chargeWh"),
      energy("dischargeWh"),
      rows.map((r) => r.count),
    );
  }
}

/** Counts a DER's readings (in time order) into their half-hours: one map entry per run of one half-hour. */
function countReadings(changes: IntervalChanges, derId: string, readings: readonly AcceptedReading[]): void {
  let start = Number.NaN;
  let run = 0;
  let first: AcceptedReading | undefined;
  for (const r of readings) {
    const s = intervalStartOf(r.reading.timestamp);
    if (s !== start) {
      if (first) changes.count(derId, start, first, run);
      start = s;
      run = 0;
      first = r;
    }
    run++;
  }
  if (first) changes.count(derId, start, first, run);
}

/**
 * A half-hour is complete once the DER has a reading at or after its end: from then on its energy is
 * published (interval.computed); any later change to it is a correction.
 */
async function publishCompleted(tx: Tx, derIds: string[]): Promise<IntervalRow[]> {
  return tx.$queryRawUnsafe<IntervalRow[]>(
    `UPDATE energy_interval AS i SET published_at = now()
       FROM twin
      WHERE twin.der_id = i.der_id AND i.der_id = ANY($1::text[]) AND i.published_at IS NULL
        AND i.interval_start + interval '${INTERVAL_MS} milliseconds' <= twin.last_reading_at
      RETURNING i.der_id, i.interval_start, i.device_id, i.org_id, i.der_type, i.generation_wh, i.import_wh,
                i.export_wh, i.charge_wh, i.discharge_wh, i.reading_count, i.published_at`,
    derIds,
  );
}

/** Wh to the mWh, never below 0 (float sums of corrections can leave -1e-12). */
const wh = (value: number | null) => (value === null ? null : Math.max(0, Math.round(value * 1000) / 1000));

/** The payload of `interval.computed` / `interval.corrected` for a stored half-hour. */
function intervalPayload(row: IntervalRow): Interval {
  const start = row.interval_start.getTime();
  return {
    derId: row.der_id,
    deviceId: row.device_id,
    orgId: row.org_id,
    derType: row.der_type as Interval["derType"],
    intervalStart: new Date(start).toISOString(),
    intervalEnd: new Date(start + INTERVAL_MS).toISOString(),
    generationWh: wh(row.generation_wh),
    importWh: wh(row.import_wh),
    exportWh: wh(row.export_wh),
    chargeWh: wh(row.charge_wh),
    dischargeWh: wh(row.discharge_wh),
    readingCount: row.reading_count,
  };
}

/**
 * Devices that sent these readings were heard from now: last contact moves forward, and a device that
 * was not active (new to ingestion, stale or disconnected) becomes active with a liveness event.
 * Their events are added to `events`; returns how many became active.
 */
async function markHeardFrom(tx: Tx, readings: AcceptedReading[], events: OutgoingEvent[]): Promise<number> {
  const seen = new Map<string, { orgId: string; at: number }>();
  let receivedAt = "";
  let at = 0;
  for (const r of readings) {
    // a message's readings share one receivedAt: parsed once per run of equal ones
    if (r.receivedAt !== receivedAt) {
      receivedAt = r.receivedAt;
      at = Date.parse(receivedAt);
    }
    const known = seen.get(r.deviceId);
    if (!known) seen.set(r.deviceId, { orgId: r.orgId, at });
    else if (known.at < at) known.at = at;
  }
  const ids = [...seen.keys()].sort();
  // Lock the devices' liveness rows (in id order: no deadlock with a concurrent batch or the sweeper).
  const locked = await tx.$queryRawUnsafe<Array<{ device_id: string; state: string }>>(
    `SELECT device_id, state FROM device_liveness WHERE device_id = ANY($1::text[]) ORDER BY device_id FOR UPDATE`,
    ids,
  );
  const registry = await tx.$queryRawUnsafe<Array<{ id: string; state: string }>>(
    `SELECT id, state FROM device WHERE id = ANY($1::text[])`,
    ids,
  );
  const liveness = new Map(locked.map((row) => [row.device_id, row.state]));
  const registryState = new Map(registry.map((row) => [row.id, row.state]));
  await tx.$executeRawUnsafe(
    `INSERT INTO device_liveness (device_id, org_id, state, last_seen_at, changed_at)
     SELECT s.device_id, s.org_id, 'active', s.seen, now()
       FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS s(device_id, org_id, seen)
     ON CONFLICT (device_id) DO UPDATE SET
       last_seen_at = GREATEST(device_liveness.last_seen_at, excluded.last_seen_at),
       changed_at = CASE WHEN device_liveness.state = 'active' THEN device_liveness.changed_at ELSE now() END,
       state = 'active'`,
    ids,
    ids.map((id) => seen.get(id)!.orgId),
    ids.map((id) => new Date(seen.get(id)!.at)),
  );
  let changed = 0;
  for (const deviceId of ids) {
    // A device new to ingestion starts from the registry's state (pending until first heard from).
    const from = (liveness.get(deviceId) ?? registryState.get(deviceId) ?? "pending") as DeviceState;
    if (from === "active") continue;
    const device = seen.get(deviceId)!;
    events.push(
      event(topics.ingestionLiveness, "device.state_changed", {
        deviceId,
        orgId: device.orgId,
        from,
        to: "active",
        lastSeenAt: new Date(device.at).toISOString(),
      }),
    );
    changed++;
  }
  return changed;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
