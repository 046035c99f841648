import type { IssuanceFrequency, ReservedDevice } from "@energy/contracts";
import { idempotencyKey, requestIdOf } from "./domain/ids.ts";
import type { Window } from "./domain/windows.ts";
import type { Reservation } from "./generated/prisma/client.ts";
import type { Tx } from "./reservations.ts";

/**
 * The set-based path of issuance: the closed windows of many reservations computed, claimed, written and
 * put in the outbox by PostgreSQL in one statement (no read leaves the database), for the reservations
 * whose windows need no decision read by read. A reservation is taken here only when, for every one of
 * its windows, `decideIssuance` would make a plain request of all the window's reads: no late reads, no
 * carried reads, every device sent data in every window (no `no_data` warning), every window at or above
 * the minimum certificate size (nothing carried), and its target neither reached nor passed by the
 * windows together (no cap, no `target_reached` / `target_exceeded`). The statement checks these itself on
 * the reads it locks and leaves every other reservation untouched: the caller decides those one by one
 * (issuance.ts). What it writes is what the one-by-one path writes for such windows: the claims (reads of
 * 0 Wh stay unclaimed, as there), the window rows, one `issuance.windows-requested` record per reservation
 * (several when its windows pass `RECORD_BYTES`), the cursor and counters.
 */
export interface SqlPlanned {
  r: Reservation;
  windows: Window[];
  deviceIds: string[];
  /** the reservation's devices as the contract describes them */
  devices: ReservedDevice[];
  buyer: { orgId: string; name: string; blockchainAccountAddress: string };
  nextWindowEnd: Date | null;
}

/** Windows go into a record until their JSON passes this many bytes (a record stays well under 1 MiB). */
export const RECORD_BYTES = 400_000;

const ISO = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Requests the windows of the reservations it can; returns the ids of those it did. */
export async function requestInPostgres(
  tx: Tx,
  planned: SqlPlanned[],
  minCertificateWh: number,
  now: Date,
): Promise<Set<string>> {
  if (planned.length === 0) return new Set();
  const w = {
    res: [] as string[],
    start: [] as Date[],
    end: [] as Date[],
    key: [] as string[],
    id: [] as string[],
  };
  const m = { res: [] as string[], device: [] as string[] };
  const p = {
    res: [] as string[],
    cursor: [] as Date[],
    next: [] as (Date | null)[],
    target: [] as (string | null)[],
    requested: [] as string[],
    authority: [] as boolean[],
    head: [] as string[],
    snapshot: [] as string[],
    devices: [] as string[],
  };
  for (const x of planned) {
    const r = x.r;
    for (const window of x.windows) {
      const key = idempotencyKey(r.id, window.start, 1);
      w.res.push(r.id);
      w.start.push(window.start);
      w.end.push(window.end);
      w.key.push(key);
      w.id.push(requestIdOf(key));
    }
    for (const d of x.deviceIds) {
      m.res.push(r.id);
      m.device.push(d);
    }
    p.res.push(r.id);
    p.cursor.push(x.windows[x.windows.length - 1]!.end);
    p.next.push(x.nextWindowEnd);
    p.target.push(r.targetVolumeWh === null ? null : String(r.targetVolumeWh));
    p.requested.push(String(r.requestedWh));
    p.authority.push(r.authorityToExceed);
    // the record's fields but reservation, devices and windows, as an object's members
    p.head.push(
      JSON.stringify({
        reservationId: r.id,
        buyerOrgId: r.buyerOrgId,
        buyerOrganization: x.buyer,
        buyerAddress: r.buyerAddress,
        frequency: r.frequency as IssuanceFrequency,
        timezone: r.timezone,
        requestedAt: now.toISOString(),
      }).slice(1, -1),
    );
    // the reservation's snapshot up to its requestedWh (the statement adds the counter of each record)
    const snapshot = JSON.stringify({
      name: r.name,
      start: r.start.toISOString(),
      end: r.end.toISOString(),
      targetVolumeWh: r.targetVolumeWh === null ? null : Number(r.targetVolumeWh),
      authorityToExceed: r.authorityToExceed,
      succeededWh: Number(r.succeededWh),
      failedWh: Number(r.failedWh),
    });
    p.snapshot.push(`${snapshot.slice(0, -1)},"requestedWh":`);
    p.devices.push(JSON.stringify(x.devices));
  }
  await tx.$executeRawUnsafe("SET LOCAL work_mem = '64MB'");
  const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
    `WITH w AS (
       SELECT u.*, row_number() OVER (PARTITION BY reservation_id ORDER BY start) AS bucket
         FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::uuid[])
                AS u(reservation_id, start, "end", key, request_id)
     ),
     span AS (
       SELECT reservation_id, min(start) AS after, max("end") AS until, array_agg(start ORDER BY start) AS starts,
              count(*) AS windows
         FROM w GROUP BY reservation_id
     ),
     q AS (SELECT * FROM unnest($6::text[], $7::text[]) AS q(reservation_id, device_id)),
     members AS (SELECT reservation_id, count(*) AS devices FROM q GROUP BY reservation_id),
     p AS (
       SELECT * FROM unnest($8::text[], $9::timestamptz[], $10::timestamptz[], $11::bigint[], $12::bigint[],
                            $13::bool[], $14::text[], $15::text[], $16::text[])
                AS p(reservation_id, cursor, next_window_end, target_wh, requested_wh, authority, head, snapshot, devices)
     ),
     rd AS (
       SELECT m.read_id, m.device_id, m.version, m.content_hash, m.start, m."end", m.energy_wh, m.claimed_wh, m.late,
              q.reservation_id, width_bucket(m."end" - interval '1 microsecond', s.starts) AS bucket
         FROM q JOIN span s USING (reservation_id)
         JOIN meter_read m ON m.reservation_id IS NULL AND m.device_id = q.device_id
                          AND m."end" > s.after AND m."end" <= s.until AND m.eligible
       FOR UPDATE OF m
     ),
     per_window AS (
       SELECT reservation_id, bucket, sum(energy_wh) AS wh, count(DISTINCT device_id) AS devices,
              bool_and(claimed_wh IS NULL) AS fresh
         FROM rd GROUP BY reservation_id, bucket
     ),
     per_reservation AS (
       SELECT pw.reservation_id, count(*) AS n, sum(pw.wh) AS total,
              bool_and(pw.wh >= greatest($17::bigint, 1) AND pw.devices = mb.devices AND pw.fresh) AS plain
         FROM per_window pw JOIN members mb USING (reservation_id)
        GROUP BY pw.reservation_id
     ),
     ok AS (
       SELECT s.reservation_id, t.total
         FROM span s JOIN per_reservation t USING (reservation_id) JOIN p USING (reservation_id)
        WHERE t.n = s.windows AND t.plain
          AND (p.target_wh IS NULL
               OR (NOT p.authority AND p.requested_wh + t.total < p.target_wh)
               OR (p.authority AND (p.requested_wh + t.total <= p.target_wh OR p.requested_wh > p.target_wh)))
     ),
     claims AS (
       SELECT rd.*, w.start AS w_start, w."end" AS w_end, w.key, w.request_id
         FROM rd JOIN ok USING (reservation_id) JOIN w USING (reservation_id, bucket)
        WHERE rd.energy_wh > 0
     ),
     claimed AS (
       UPDATE meter_read m SET reservation_id = c.reservation_id, request_id = c.request_id, claimed_wh = c.energy_wh,
              late = c.late
         FROM claims c WHERE m.read_id = c.read_id
     ),
     contribution AS (
       SELECT reservation_id, bucket, device_id, sum(energy_wh) AS wh, count(*) AS reads, bool_or(late) AS late,
              json_build_object('deviceId', device_id, 'energyWh', sum(energy_wh), 'reads',
                json_agg(json_build_object('readId', read_id, 'version', version, 'contentHash', content_hash,
                                           'start', ${ISO("start")}, 'end', ${ISO(`"end"`)},
                                           'energyWh', energy_wh, 'late', late)
                         ORDER BY "end", read_id COLLATE "C")) AS json
         FROM claims GROUP BY reservation_id, bucket, device_id
     ),
     win AS (
       SELECT c.reservation_id, c.bucket, w.key, w.request_id, w.start AS w_start, w."end" AS w_end,
              sum(c.wh) AS wh, bool_or(c.late) AS late,
              jsonb_agg(jsonb_build_object('deviceId', c.device_id, 'energyWh', c.wh, 'reads', c.reads)
                        ORDER BY c.device_id COLLATE "C") AS contributions,
              json_build_object('idempotencyKey', w.key, 'requestId', w.request_id, 'version', 1,
                'window', json_build_object('start', ${ISO("w.start")}, 'end', ${ISO(`w."end"`)}),
                'energyWh', sum(c.wh), 'carriedOverWh', 0, 'late', bool_or(c.late), 'capped', false,
                'contributions', json_agg(c.json ORDER BY c.device_id COLLATE "C"))::text AS json
         FROM contribution c JOIN w USING (reservation_id, bucket)
        GROUP BY c.reservation_id, c.bucket, w.key, w.request_id, w.start, w."end"
     ),
     windows_written AS (
       INSERT INTO issuance_window (request_id, idempotency_key, reservation_id, window_start, window_end, version,
                                    energy_wh, carried_over_wh, late, capped, contributions)
       SELECT request_id, key, reservation_id, w_start, w_end, 1, wh, 0, late, false, contributions FROM win
     ),
     chunked AS (
       SELECT win.*,
              sum(wh) OVER (PARTITION BY reservation_id ORDER BY bucket ROWS UNBOUNDED PRECEDING) - wh AS wh_before,
              (sum(octet_length(json)) OVER (PARTITION BY reservation_id ORDER BY bucket ROWS UNBOUNDED PRECEDING)
                 - octet_length(json)) / $18::bigint AS chunk
         FROM win
     ),
     record AS (
       SELECT c.reservation_id, c.chunk,
              '{' || p.head || ',"reservation":' || p.snapshot || (p.requested_wh + min(c.wh_before))::text
                || '},"devices":' || p.devices || ',"windows":[' || string_agg(c.json, ',' ORDER BY c.bucket) || ']}'
                AS payload
         FROM chunked c JOIN p USING (reservation_id)
        GROUP BY c.reservation_id, c.chunk, p.head, p.snapshot, p.requested_wh, p.devices
     ),
     sent AS (
       INSERT INTO outbox (id, topic, key, type, schema_version, payload, correlation_id, causation_id, occurred_at)
       SELECT e.id, 'reservation.issuance-request.v1', reservation_id, 'issuance.windows-requested', 1, payload::json,
              e.id::text, NULL, now()
         FROM (SELECT gen_random_uuid() AS id, * FROM record ORDER BY reservation_id, chunk) e
        ORDER BY reservation_id, chunk
     ),
     cursors AS (
       UPDATE reservation r SET requested_until = p.cursor, requested_wh = p.requested_wh + ok.total, carried_wh = 0,
              late_pending = false, next_window_end = p.next_window_end, updated_at = now()
         FROM ok JOIN p USING (reservation_id)
        WHERE r.id = ok.reservation_id
     )
     SELECT reservation_id AS id FROM ok`,
    w.res,
    w.start,
    w.end,
    w.key,
    w.id,
    m.res,
    m.device,
    p.res,
    p.cursor,
    p.next,
    p.target,
    p.requested,
    p.authority,
    p.head,
    p.snapshot,
    p.devices,
    minCertificateWh,
    RECORD_BYTES,
  );
  return new Set(rows.map((row) => row.id));
}
