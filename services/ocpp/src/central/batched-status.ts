import { topics } from "@energy/contracts";
import { event, OUTBOX_COLUMNS, type OutgoingEvent, outboxRows, outboxUnnest } from "@energy/kafka";
import type pg from "pg";
import type { Config } from "../config.ts";
import { chargerTime } from "../domain/timestamps.ts";
import { type BatchedCall, messageLogColumns, readingRows, readsCte } from "./batched-calls.ts";
import {
  type V16StatusNotification,
  type V201StatusNotification,
  v16StatusUpdate,
  v201StatusUpdate,
} from "./connectors.ts";
import { ALONE, GroupCommit } from "./group-commit.ts";
import { readingEvent } from "./readings.ts";

/**
 * StatusNotification (both versions), group-committed: what handlers/v16/status-notification.ts and
 * handlers/v201/status-notification.ts do (applyConnectorStatus, noteClockSkew), for a whole batch in two
 * statements: one read (replays; each connector's stored status; the DERs, limits in force at the status's
 * time and open transaction its reading carries), one write (charge_point's clock skew and, for connector
 * 0, its status; the connectors; ocpp_message; the outbox: connector.status_changed then the reading, call
 * by call in the batch's order). A status older (by the charger's clock) than the stored one changes no
 * connector and publishes nothing, as in the handler. A batch holds one call per charger: a second one of
 * the same charger goes its own way once the batch committed (ALONE). A batch that fails goes call by call
 * through the handlers.
 */
export function batchedStatuses(opts: {
  pool: pg.Pool;
  config: Config;
  published: () => void;
  failed: (err: unknown, size: number) => void;
}) {
  return new GroupCommit<BatchedCall, unknown>({
    run: (items) => runStatusBatch(opts.pool, opts.config, items),
    alone: (item) => item.alone(),
    committed: opts.published,
    failed: opts.failed,
  });
}

type StatusRow = {
  n: string;
  seen: boolean;
  response: unknown;
  ctx: string | null;
  status: string | null;
  ocpp_status: string | null;
  error_code: string | null;
  charging_state: string | null;
  status_at: Date | null;
};

const READ = `WITH ${readsCte(1)}
  SELECT r.n, r.seen, r.response, r.ctx, c.status, c.ocpp_status, c.error_code, c.charging_state, c.status_at
    FROM reads r LEFT JOIN connector c ON c.charge_point_id = r.cp AND c.connector_id = r.c`;

/** Connector columns a status sets; 1.6 also sets info and vendor_error_code, 2.0.1 evse_connector_id. */
const upsert = (first: number, extra: readonly string[], extraTypes: readonly string[]) => {
  const p = (i: number) => `$${first + i}`;
  const types = ["text", "int", "text", "text", "text", "text", "timestamptz", ...extraTypes];
  const names = ["cp", "c", "status", "charging_state", "ocpp_status", "error_code", "status_at", ...extra];
  return `INSERT INTO connector (id, charge_point_id, connector_id, status, charging_state, ocpp_status, error_code,
                                status_at, ${extra.join(", ")}, last_updated)
       SELECT gen_random_uuid(), ${names.map((n) => `u.${n}`).join(", ")}, now()
         FROM unnest(${types.map((t, i) => `${p(i)}::${t}[]`).join(", ")}) AS u(${names.join(", ")})
        ORDER BY u.cp, u.c
       ON CONFLICT (charge_point_id, connector_id)
       DO UPDATE SET status = EXCLUDED.status, charging_state = EXCLUDED.charging_state,
                     ocpp_status = EXCLUDED.ocpp_status, error_code = EXCLUDED.error_code,
                     status_at = EXCLUDED.status_at, ${extra.map((c) => `${c} = EXCLUDED.${c}`).join(", ")},
                     last_updated = now()
       RETURNING 1`;
};

const WRITE = `WITH points AS (
       UPDATE charge_point AS cp
          SET clock_skew_ms = CASE WHEN s.set_skew THEN s.skew ELSE cp.clock_skew_ms END,
              status = coalesce(s.status, cp.status), last_updated = now()
         FROM unnest($1::text[], $2::boolean[], $3::bigint[], $4::text[]) AS s(id, set_skew, skew, status)
        WHERE cp.serial_number = s.id
       RETURNING 1),
     v16 AS (${upsert(5, ["info", "vendor_error_code"], ["text", "text"])}),
     v201 AS (${upsert(14, ["evse_connector_id"], ["int"])}),
     messages AS (
       INSERT INTO ocpp_message (charge_point_id, message_id, action, content_hash, response)
       SELECT * FROM unnest($22::text[], $23::text[], $24::text[], $25::text[], $26::jsonb[])
       RETURNING 1),
     events AS (
       INSERT INTO outbox (${OUTBOX_COLUMNS}) SELECT ${OUTBOX_COLUMNS} FROM ${outboxUnnest(27)} ORDER BY e.n
       RETURNING 1)
     SELECT 1`;

/** What a call of the batch applies: the handlers' StatusUpdate, and the clock skew to note (if any). */
function statusOf(call: BatchedCall, config: Config, stored: StatusRow | undefined) {
  const tolerance = config.CLOCK_SKEW_TOLERANCE_SECONDS * 1000;
  if (call.version === "1.6") {
    const p = call.params as V16StatusNotification;
    const time = chargerTime(p.timestamp, call.receivedAt, tolerance);
    return { update: v16StatusUpdate(p, time), skew: p.timestamp ? { ms: time.skewMs } : null };
  }
  const p = call.params as V201StatusNotification;
  const time = chargerTime(p.timestamp, call.receivedAt, tolerance);
  return { update: v201StatusUpdate(p, time, stored?.charging_state), skew: { ms: time.skewMs } };
}

async function runStatusBatch(pool: pg.Pool, config: Config, items: BatchedCall[]): Promise<unknown[]> {
  const answers: unknown[] = new Array(items.length);
  // one call per charger in a batch: the others after it committed, on their own
  const seenChargers = new Set<string>();
  const calls = items.flatMap((call, i) => {
    const id = call.charger.chargePointId;
    if (seenChargers.has(id)) {
      answers[i] = ALONE;
      return [];
    }
    seenChargers.add(id);
    return [{ i, call }];
  });
  const tolerance = config.CLOCK_SKEW_TOLERANCE_SECONDS * 1000;
  const connectorOf = (call: BatchedCall) =>
    call.version === "1.6"
      ? (call.params as V16StatusNotification).connectorId
      : (call.params as V201StatusNotification).evseId;
  const timeOf = (call: BatchedCall) =>
    chargerTime((call.params as { timestamp?: string }).timestamp, call.receivedAt, tolerance).effective;
  const read = (
    await pool.query<StatusRow>({
      name: "ocpp-status-read",
      text: READ,
      values: [
        calls.map((f) => f.call.charger.chargePointId),
        calls.map((f) => f.call.messageId),
        calls.map((f) => f.call.action),
        calls.map((f) => f.call.contentHash),
        calls.map((f) => connectorOf(f.call)),
        calls.map((f) => timeOf(f.call)),
        calls.map((f) => timeOf(f.call)),
        calls.map(() => null),
      ],
    })
  ).rows;
  const byCall = new Map(read.map((r) => [Number(r.n) - 1, r]));

  const points: Array<{ id: string; setSkew: boolean; skew: string | null; status: string | null }> = [];
  const rows16: Array<unknown[]> = [];
  const rows201: Array<unknown[]> = [];
  const fresh: typeof calls = [];
  const events: OutgoingEvent[] = [];
  for (const [k, f] of calls.entries()) {
    const r = byCall.get(k);
    if (r?.seen) {
      answers[f.i] = r.response;
      continue;
    }
    fresh.push(f);
    answers[f.i] = {};
    const id = f.call.charger.chargePointId;
    const { update, skew } = statusOf(f.call, config, r);
    const point = {
      id,
      setSkew: skew !== null,
      skew: skew?.ms == null ? null : String(Math.round(skew.ms)),
      status: null as string | null,
    };
    points.push(point);
    // a status older (by the charger's clock) than the stored one is kept out
    const storedAt = r?.status_at ?? null;
    if (storedAt && storedAt > update.time.effective) continue;
    const { connectorStatus, chargingState } = update.port;
    const row = [
      id,
      update.connectorId,
      connectorStatus,
      chargingState,
      update.ocppStatus,
      update.errorCode,
      update.time.effective,
    ];
    if (f.call.version === "1.6") rows16.push([...row, update.info ?? null, update.vendorErrorCode ?? null]);
    else rows201.push([...row, update.evseConnectorId ?? null]);
    if (update.connectorId === 0) point.status = connectorStatus;
    const changed =
      r?.status == null ||
      r.status !== connectorStatus ||
      r.ocpp_status !== update.ocppStatus ||
      r.error_code !== update.errorCode ||
      r.charging_state !== chargingState;
    if (!changed) continue;
    events.push(
      event(
        topics.ocppCharger,
        "connector.status_changed",
        {
          chargePointId: id,
          connectorId: update.connectorId,
          connectorStatus,
          chargingState,
          ocppStatus: update.ocppStatus,
          errorCode: update.errorCode,
          statusAt: update.time.effective.toISOString(),
          receivedAt: update.time.receivedAt.toISOString(),
        },
        { correlationId: f.call.correlationId },
      ),
    );
    if (r?.ctx != null) {
      const reading = readingEvent(
        { config, charger: f.call.charger, correlationId: f.call.correlationId },
        update.connectorId,
        readingRows(r.ctx),
        null,
        update.time.effective,
        update.port,
      );
      if (reading) events.push(reading);
    }
  }
  const outbox = outboxRows(events);
  // charge_point changes only for a clock skew noted or connector 0's status
  const changedPoints = points.filter((p) => p.setSkew || p.status !== null);
  const columns = (rows: Array<unknown[]>, width: number) =>
    Array.from({ length: width }, (_, c) => rows.map((row) => row[c]));
  await pool.query({
    name: "ocpp-status-write",
    text: WRITE,
    values: [
      changedPoints.map((p) => p.id),
      changedPoints.map((p) => p.setSkew),
      changedPoints.map((p) => p.skew),
      changedPoints.map((p) => p.status),
      ...columns(rows16, 9),
      ...columns(rows201, 8),
      ...messageLogColumns(fresh),
      ...outbox.values,
    ],
  });
  return answers;
}
