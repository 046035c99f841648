import { type OcppVersion, topics } from "@energy/contracts";
import { event, OUTBOX_COLUMNS, type OutgoingEvent, outboxRows, outboxUnnest } from "@energy/kafka";
import type pg from "pg";
import type { Config } from "../config.ts";
import { parseSampledValues, type RawSampledValue } from "../domain/meter-values.ts";
import { bootAnswer, type RegistrationDecision } from "../domain/registration.ts";
import { chargerTime } from "../domain/timestamps.ts";
import { ALONE, GroupCommit } from "./group-commit.ts";
import type { ChargerIdentity, ConnectionState } from "./handler.ts";
import { type ReadingRows, readingEvent } from "./readings.ts";

/**
 * The calls every connected charger sends all the time, group-committed (group-commit.ts): Heartbeat
 * (both versions) and MeterValues outside a transaction (1.6 without transactionId, 2.0.1 MeterValues).
 * They do what their handlers do (handlers/v16/heartbeat.ts, handlers/v16/meter-values.ts,
 * handlers/v201/meter-values.ts) with one statement per table for the whole batch, on the same pool:
 *  - Heartbeat: charge_point.last_heartbeat; answered with the receive time;
 *  - MeterValues: a replay (same message id and content) answered from ocpp_message, changing nothing;
 *    otherwise the connector's last energy register, one reading.measured per meterValue into the outbox
 *    (the connector's status, open transaction and limit in force: readings.ts), and the call recorded
 *    in ocpp_message.
 * A batch that fails (a value no column or event takes, a conflict) is re-run call by call through the
 * handlers (`alone`), so every CALLERROR is the one the handler path gives. A 1.6 MeterValues inside a
 * transaction, and every other call, runs through its handler in its own transaction.
 */
export interface BatchedCall {
  version: OcppVersion;
  action: string;
  charger: ChargerIdentity;
  messageId: string;
  contentHash: string;
  params: unknown;
  receivedAt: Date;
  correlationId: string;
  /** the connection's state (a BootNotification sets its boot status) */
  connection: ConnectionState;
  /** the call through its handler, in its own transaction */
  alone: () => Promise<unknown>;
}

interface MeterValuesParams {
  connectorId?: number;
  evseId?: number;
  transactionId?: number;
  meterValue: Array<{ timestamp: string; sampledValue: RawSampledValue[] }>;
}

interface BootParams {
  // 1.6
  chargePointVendor?: string;
  chargePointModel?: string;
  chargePointSerialNumber?: string;
  chargeBoxSerialNumber?: string;
  firmwareVersion?: string;
  // 2.0.1
  chargingStation?: { model: string; vendorName: string; serialNumber?: string; firmwareVersion?: string };
}

/** What a BootNotification reports, as handlers/v16/boot-notification.ts and v201/boot-notification.ts read it. */
function bootInfo(version: OcppVersion, params: unknown) {
  const p = params as BootParams;
  if (version === "1.6") {
    return {
      vendor: p.chargePointVendor!,
      model: p.chargePointModel!,
      serialNumber: p.chargePointSerialNumber ?? p.chargeBoxSerialNumber ?? null,
      firmwareVersion: p.firmwareVersion ?? null,
    };
  }
  const station = p.chargingStation!;
  return {
    vendor: station.vendorName,
    model: station.model,
    serialNumber: station.serialNumber ?? null,
    firmwareVersion: station.firmwareVersion ?? null,
  };
}

/** Whether a call goes through a group commit (see above; StatusNotification: batched-status.ts). */
export function isBatched(action: string, params: unknown): boolean {
  if (action === "Heartbeat" || action === "BootNotification" || action === "StatusNotification") return true;
  return action === "MeterValues" && (params as MeterValuesParams).transactionId === undefined;
}

export function batchedCalls(opts: {
  pool: pg.Pool;
  config: Config;
  published: () => void;
  failed: (err: unknown, size: number) => void;
}) {
  const remembered: Remembered = { contexts: new Map(), statements: { one: 0, two: 0 } };
  const commit = new GroupCommit<BatchedCall, unknown>({
    run: (items) => runBatch(opts.pool, opts.config, remembered, items),
    alone: (item) => item.alone(),
    committed: opts.published,
    failed: opts.failed,
  });
  /** batches of MeterValues written in one statement (MERGED), and in two (a read, then the write) */
  return Object.assign(commit, { statements: remembered.statements });
}

/**
 * What a batched MeterValues read of its connector last time, by charger and connector (`cp\0c`): the
 * read's `ctx` text (the connector's DERs, status, limits in force and open transaction, as PostgreSQL
 * wrote them). A batch whose every MeterValues has one builds its readings from it and sends one statement
 * that checks, in the snapshot it writes in, that each call's context is still that text and that no call
 * is a replay; only then does it write (else it writes nothing and returns the reads, and the batch goes
 * the two-statement way). So a remembered context is never trusted, only spares the round trip of the read.
 */
interface Remembered {
  contexts: Map<string, string>;
  /** batches with MeterValues written in one statement, and in two */
  statements: { one: number; two: number };
}
/** Bound of the remembered contexts (10,000 chargers of two connectors each fit well within it). */
const MAX_REMEMBERED = 100_000;

type ReadRow = {
  n: string;
  seen: boolean;
  response: unknown;
  /**
   * json_build_array(ders, status, charging_state, limits, open_id, meter_start_wh) as text; null for
   * connector 0 (no reading). A connector without a row is `unknown`, as readingEvent takes it (so the row
   * the first energy register creates does not change the text). ders: the device's port DERs; limits: the charging_limit rows of the
   * connector and connector 0 in force at some time of the call's values.
   */
  ctx: string | null;
};

type Ctx = [
  ReadingRows["ders"] | null,
  string | null,
  string | null,
  Array<{ connectorId: number; limitW: number; validFrom: string; validTo: string | null }> | null,
  number | string | null,
  number | null,
];

/**
 * The ocpp_message rows of a batch's calls that are not replays, as the five arrays of its
 * `unnest(text[], text[], text[], text[], jsonb[])` (charge point, message id, action, content hash, the empty
 * answer both batched paths give).
 */
export function messageLogColumns(fresh: ReadonlyArray<{ call: BatchedCall }>): unknown[][] {
  return [
    fresh.map((f) => f.call.charger.chargePointId),
    fresh.map((f) => f.call.messageId),
    fresh.map((f) => f.call.action),
    fresh.map((f) => f.call.contentHash),
    fresh.map(() => "{}"),
  ];
}

/** What a reading carries, from a read's `ctx` text. */
export function readingRows(ctx: string): ReadingRows {
  const [ders, status, chargingState, limits, openId, meterStartWh] = JSON.parse(ctx) as Ctx;
  return {
    ders: ders ?? [],
    connector: status === null ? null : { status, chargingState },
    limits: (limits ?? []).map((l) => ({
      connectorId: l.connectorId,
      limitW: l.limitW,
      validFrom: new Date(l.validFrom),
      validTo: l.validTo === null ? null : new Date(l.validTo),
    })),
    open: openId === null ? null : { id: openId, meterStartWh },
  };
}

/**
 * The MeterValues of a batch with what each reading carries (reads: replays, and each call's context),
 * from the eight arrays at parameter `$first` on; `expected` is the remembered context of each call.
 * Its json_agg are ordered so that the same rows give the same text.
 */
export const readsCte = (first: number) => {
  const p = (i: number) => `$${first + i}`;
  return `reads AS (
       SELECT k.n, k.cp, k.c, k.expected, m.charge_point_id IS NOT NULL AS seen, m.response,
              CASE WHEN k.c >= 1 THEN json_build_array(d.ders, coalesce(c.status, 'unknown'), c.charging_state, l.limits, t.id,
                                                        t.meter_start_wh)::text END AS ctx
         FROM unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::text[], ${p(4)}::int[],
                     ${p(5)}::timestamptz[], ${p(6)}::timestamptz[], ${p(7)}::text[])
              WITH ORDINALITY AS k(cp, mid, action, hash, c, first_at, last_at, expected, n)
         LEFT JOIN ocpp_message m ON m.charge_point_id = k.cp AND m.message_id = k.mid
          AND m.action = k.action AND m.content_hash = k.hash
         LEFT JOIN LATERAL (
           SELECT json_agg(json_build_object('id', p.id, 'name', p.name, 'ratedPowerW', p.rated_power_w)
                           ORDER BY p.id) AS ders
             FROM port_der p WHERE p.device_id = k.cp AND k.c >= 1) d ON true
         LEFT JOIN connector c ON c.charge_point_id = k.cp AND c.connector_id = k.c
         LEFT JOIN LATERAL (
           SELECT json_agg(json_build_object('connectorId', g.connector_id, 'limitW', g.limit_w,
                                             'validFrom', g.valid_from, 'validTo', g.valid_to)
                           ORDER BY g.id) AS limits
             FROM charging_limit g
            WHERE g.charge_point_id = k.cp AND g.connector_id IN (k.c, 0) AND k.c >= 1
              AND g.valid_from <= k.last_at AND (g.valid_to IS NULL OR g.valid_to > k.first_at)) l ON true
         LEFT JOIN LATERAL (
           SELECT id, meter_start_wh FROM charging_transaction t
            WHERE t.charge_point_id = k.cp AND t.connector_id = k.c AND t.state = 'active'
            ORDER BY t.id DESC LIMIT 1) t ON true)`;
};

/**
 * The statement that writes a batch (heartbeats, energy registers, ocpp_message, the outbox, boots): its
 * 35 parameters are those of `writeValues`. `guard` (the merged statement) makes every write conditional
 * on the `ok` CTE.
 */
const writeCtes = (guard: string) => `beats AS (
       UPDATE charge_point AS cp SET last_heartbeat = v.at, last_updated = now()
         FROM unnest($1::text[], $2::timestamptz[]) AS v(id, at)
        WHERE cp.serial_number = v.id${guard}
       RETURNING cp.serial_number AS id),
     registers AS (
       INSERT INTO connector (id, charge_point_id, connector_id, status, energy_register_wh, last_updated)
       SELECT gen_random_uuid(), r.id, r.c, 'unknown', r.wh, now()
         FROM unnest($3::text[], $4::int[], $5::float8[]) AS r(id, c, wh) WHERE true${guard} ORDER BY r.id, r.c
       ON CONFLICT (charge_point_id, connector_id)
       DO UPDATE SET energy_register_wh = EXCLUDED.energy_register_wh, last_updated = now()
       RETURNING 1),
     messages AS (
       INSERT INTO ocpp_message (charge_point_id, message_id, action, content_hash, response)
       SELECT * FROM unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[])
        WHERE true${guard}
       RETURNING 1),
     events AS (
       INSERT INTO outbox (${OUTBOX_COLUMNS}) SELECT ${OUTBOX_COLUMNS} FROM ${outboxUnnest(11)}
        WHERE true${guard} ORDER BY e.n
       RETURNING 1),
     boots AS (
       UPDATE charge_point AS cp SET vendor = b.vendor, model = b.model, reported_serial = b.serial,
              firmware_version = b.firmware, boot_status = b.status, booted_at = b.at, last_heartbeat = b.at,
              last_updated = now()
         FROM unnest($20::text[], $21::text[], $22::text[], $23::text[], $24::text[], $25::timestamptz[],
                     $26::text[])
              WITH ORDINALITY AS b(id, vendor, model, serial, firmware, at, status, n)
        WHERE cp.serial_number = b.id${guard}
       RETURNING cp.serial_number AS id, b.n),
     booted AS (
       INSERT INTO outbox (${OUTBOX_COLUMNS})
       SELECT ${OUTBOX_COLUMNS} FROM ${outboxUnnest(27)} WHERE e.n IN (SELECT n FROM boots) ORDER BY e.n
       RETURNING 1)`;

const READ = `WITH ${readsCte(1)} SELECT n, seen, response, ctx FROM reads`;
const WRITE = `WITH ${writeCtes("")}
     SELECT 'beat' AS kind, id FROM beats UNION ALL SELECT 'boot', id FROM boots`;
/**
 * Reads and writes in one statement (the data-modifying CTEs and the reads see the same snapshot): the
 * writes happen only when no call is a replay and each call's context is the one its readings were built
 * from. Its rows: the heartbeats and boots written, or, when it wrote nothing, 'read' rows (the reads).
 */
const MERGED = `WITH ${readsCte(36)},
     ok AS (SELECT NOT EXISTS (
       SELECT 1 FROM reads WHERE seen OR (c >= 1 AND ctx IS DISTINCT FROM expected)) AS ok),
     ${writeCtes(" AND (SELECT ok FROM ok)")}
     SELECT 'beat' AS kind, id, NULL::bigint AS n, NULL::boolean AS seen, NULL::jsonb AS response,
            NULL::text AS ctx FROM beats
     UNION ALL SELECT 'boot', id, NULL, NULL, NULL, NULL FROM boots
     UNION ALL SELECT 'read', NULL, n, seen, response, ctx FROM reads WHERE NOT (SELECT ok FROM ok)`;

/** The first and last time of a call's meter values (its receive time when it has none). */
function valuesSpan(f: { call: BatchedCall; values: ReadonlyArray<{ time: { effective: Date } }> }) {
  const times = f.values.map((v) => v.time.effective.getTime());
  if (times.length === 0) return { first: f.call.receivedAt, last: f.call.receivedAt };
  return { first: new Date(Math.min(...times)), last: new Date(Math.max(...times)) };
}

/**
 * A batch in one round trip, or two, and no explicit transaction. When every MeterValues of the batch has
 * a remembered context (`Remembered`), one statement (MERGED) reads (replays, and what each reading
 * carries) and writes everything (heartbeats, energy registers, ocpp_message, the outbox, boots), but
 * writes only if no call is a replay and every context is still the remembered one; else, and for a batch
 * with a call not seen before, the reads (READ, or what MERGED returned when it wrote nothing) and then
 * one statement that writes (WRITE): the readings are built from the reads. Each statement is atomic, as
 * every statement is. Between a read and its write, a concurrent replay of the same message makes the
 * write fail on ocpp_message's key: the batch then goes call by call, and the replay gets the stored
 * answer. A heartbeat whose charge point row is missing goes its own way (the handler's error).
 */
async function runBatch(
  pool: pg.Pool,
  config: Config,
  remembered: Remembered,
  items: BatchedCall[],
): Promise<unknown[]> {
  const answers: unknown[] = new Array(items.length);
  const beats = items.flatMap((c, i) => (c.action === "Heartbeat" ? [i] : []));
  const meters = items.flatMap((c, i) => (c.action === "MeterValues" ? [i] : []));
  const boots = items.flatMap((c, i) => (c.action === "BootNotification" ? [i] : []));
  const tolerance = config.CLOCK_SKEW_TOLERANCE_SECONDS * 1000;
  const calls = meters.map((i, k) => {
    const call = items[i]!;
    const p = call.params as MeterValuesParams;
    return {
      i,
      k,
      call,
      connectorId: (call.version === "1.6" ? p.connectorId : p.evseId) ?? 0,
      values: p.meterValue.map((v) => ({
        time: chargerTime(v.timestamp, call.receivedAt, tolerance),
        sample: parseSampledValues(call.version, v.sampledValue),
      })),
    };
  });

  // the clock skew each charger.booted carries (a boot does not change it) and the operator's registration
  // decision (charger_registration), which answers the boot before BOOT_POLICY does
  const booting =
    boots.length === 0
      ? new Map<string, { skew: string | null; decision: string | null }>()
      : new Map(
          (
            await pool.query<{ id: string; skew: string | null; decision: string | null }>({
              name: "ocpp-batch-boots",
              text: `SELECT cp.serial_number AS id, cp.clock_skew_ms AS skew, r.status AS decision
                 FROM charge_point cp LEFT JOIN charger_registration r ON r.charge_point_id = cp.serial_number
                WHERE cp.serial_number = ANY($1::text[])`,
              values: [boots.map((i) => items[i]!.charger.chargePointId)],
            })
          ).rows.map((r) => [r.id, r]),
        );
  const bootStatuses = boots.map((i) =>
    bootAnswer(
      (booting.get(items[i]!.charger.chargePointId)?.decision as RegistrationDecision | null | undefined) ??
        null,
      config.BOOT_POLICY,
    ),
  );
  const bootInfos = boots.map((i) => bootInfo(items[i]!.version, items[i]!.params));
  const bootEvents = outboxRows(
    boots.map((i, k) => {
      const call = items[i]!;
      const skew = booting.get(call.charger.chargePointId)?.skew;
      return event(
        topics.ocppCharger,
        "charger.booted",
        {
          chargePointId: call.charger.chargePointId,
          ...bootInfos[k]!,
          registrationStatus: bootStatuses[k]!,
          clockSkewMs: skew == null ? null : Number(skew),
        },
        { correlationId: call.correlationId },
      );
    }),
  );

  // replays (the stored answer, nothing else) and what each reading carries
  const spans = calls.map(valuesSpan);
  const keys = calls.map((f) => `${f.call.charger.chargePointId}\0${f.connectorId}`);
  const readValues = (expected: Array<string | null>) => [
    calls.map((f) => f.call.charger.chargePointId),
    calls.map((f) => f.call.messageId),
    calls.map((f) => f.call.action),
    calls.map((f) => f.call.contentHash),
    calls.map((f) => f.connectorId),
    spans.map((s) => s.first),
    spans.map((s) => s.last),
    expected,
  ];
  const bootValues = [
    boots.map((i) => items[i]!.charger.chargePointId),
    bootInfos.map((b) => b.vendor),
    bootInfos.map((b) => b.model),
    bootInfos.map((b) => b.serialNumber),
    bootInfos.map((b) => b.firmwareVersion),
    boots.map((i) => items[i]!.receivedAt),
    bootStatuses,
    ...bootEvents.values,
  ];
  /** The 35 parameters of the write: heartbeats, the fresh calls' registers, messages and events, boots. */
  const writeValues = (fresh: typeof calls, ctxOf: (f: (typeof calls)[number]) => string | null) => {
    // the connector's energy register: the last one sent (a value without it leaves the register as it was)
    const registers = fresh.flatMap((f) => {
      const wh = f.values.findLast((v) => v.sample.energyImportWh !== undefined)?.sample.energyImportWh;
      return wh === undefined || f.connectorId < 1
        ? []
        : [{ id: f.call.charger.chargePointId, c: f.connectorId, wh }];
    });
    const events: OutgoingEvent[] = [];
    for (const f of fresh) {
      const ctx = f.connectorId < 1 ? null : ctxOf(f);
      if (ctx === null) continue;
      const rows = readingRows(ctx);
      const call = { config, charger: f.call.charger, correlationId: f.call.correlationId };
      for (const v of f.values) {
        const reading = readingEvent(call, f.connectorId, rows, v.sample, v.time.effective);
        if (reading) events.push(reading);
      }
    }
    const outbox = outboxRows(events);
    return [
      beats.map((i) => items[i]!.charger.chargePointId),
      beats.map((i) => items[i]!.receivedAt),
      registers.map((r) => r.id),
      registers.map((r) => r.c),
      registers.map((r) => r.wh),
      ...messageLogColumns(fresh),
      ...outbox.values,
      ...bootValues,
    ];
  };

  let written: { rows: Array<{ kind: string; id: string }> } | null = null;
  let read: ReadRow[] = [];
  const expected = calls.map((f, k) =>
    f.connectorId < 1 ? null : (remembered.contexts.get(keys[k]!) ?? null),
  );
  if (calls.length > 0 && calls.every((f, k) => f.connectorId < 1 || expected[k] !== null)) {
    // every call's context is remembered: one statement, which writes only if each is still the stored one
    const merged = await pool.query<{ kind: string; id: string } & ReadRow>({
      name: "ocpp-batch-merged",
      text: MERGED,
      values: [...writeValues(calls, (f) => expected[f.k]!), ...readValues(expected)],
    });
    read = merged.rows.filter((r) => r.kind === "read");
    if (read.length === 0) {
      written = merged;
      remembered.statements.one++;
    }
  } else if (calls.length > 0) {
    read = (await pool.query<ReadRow>({ name: "ocpp-batch-read", text: READ, values: readValues(expected) }))
      .rows;
  }
  let fresh = calls;
  if (written === null) {
    const byCall = new Map(read.map((r) => [Number(r.n) - 1, r]));
    fresh = calls.filter((f) => {
      const r = byCall.get(f.k);
      if (r?.seen) answers[f.i] = r.response;
      return !r?.seen;
    });
    if (remembered.contexts.size > MAX_REMEMBERED) remembered.contexts.clear();
    for (const f of calls) {
      const ctx = byCall.get(f.k)?.ctx;
      if (ctx != null) remembered.contexts.set(keys[f.k]!, ctx);
    }
    if (calls.length > 0) remembered.statements.two++;
    written = await pool.query<{ kind: string; id: string }>({
      name: "ocpp-batch-write",
      text: WRITE,
      values: writeValues(fresh, (f) => byCall.get(f.k)?.ctx ?? null),
    });
  }
  const beaten = new Set(written.rows.flatMap((r) => (r.kind === "beat" ? [r.id] : [])));
  const booted = new Set(written.rows.flatMap((r) => (r.kind === "boot" ? [r.id] : [])));
  for (const [k, i] of boots.entries()) {
    const call = items[i]!;
    if (!booted.has(call.charger.chargePointId)) {
      answers[i] = ALONE;
      continue;
    }
    const status = bootStatuses[k]!;
    call.connection.bootStatus = status;
    call.connection.triggered.clear();
    answers[i] = {
      status,
      currentTime: call.receivedAt.toISOString(),
      interval: config.HEARTBEAT_INTERVAL_SECONDS,
    };
  }
  for (const i of beats) {
    const call = items[i]!;
    answers[i] = beaten.has(call.charger.chargePointId)
      ? { currentTime: call.receivedAt.toISOString() }
      : ALONE;
  }
  for (const f of fresh) answers[f.i] = {};
  return answers;
}
