import { type OcppVersion, topics } from "@energy/contracts";
import { event, OUTBOX_COLUMNS, outboxRows, outboxUnnest } from "@energy/kafka";
import type pg from "pg";

/**
 * Connections and disconnections of many chargers in one statement each (a boot storm: a fleet
 * reconnecting at once after an outage), group-committed by the central system (group-commit.ts), each
 * doing what CentralSystem's per-connection transaction does (its fallback): the charge point row, the
 * routing table (charger_session) and charger.connected / charger.disconnected in the outbox.
 */
export interface Connection {
  chargePointId: string;
  sessionId: string;
  version: OcppVersion;
  connectedAt: Date;
}

/** Records connections; returns each charge point's last boot status (null before its first boot). */
export async function recordConnections(
  pool: pg.Pool,
  instanceId: string,
  items: Connection[],
): Promise<Array<string | null>> {
  const outbox = outboxRows(
    items.map((c) =>
      event(topics.ocppCharger, "charger.connected", {
        chargePointId: c.chargePointId,
        ocppVersion: c.version,
        instanceId,
      }),
    ),
  );
  const points = await pool.query<{ serial_number: string; boot_status: string | null }>({
    name: "ocpp-record-connections",
    text: `WITH v AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::timestamptz[]) AS v(id, version, session, at)),
     points AS (
       INSERT INTO charge_point (serial_number, ocpp_version)
       SELECT v.id, v.version FROM v ORDER BY v.id
       ON CONFLICT (serial_number) DO UPDATE SET ocpp_version = EXCLUDED.ocpp_version, last_updated = now()
       RETURNING serial_number, boot_status),
     sessions AS (
       INSERT INTO charger_session (charge_point_id, instance_id, session_id, ocpp_version, connected_at)
       SELECT v.id, $5, v.session, v.version, v.at FROM v ORDER BY v.id
       ON CONFLICT (charge_point_id) DO UPDATE SET instance_id = EXCLUDED.instance_id,
         session_id = EXCLUDED.session_id, ocpp_version = EXCLUDED.ocpp_version, connected_at = EXCLUDED.connected_at
       RETURNING 1),
     events AS (
       INSERT INTO outbox (${OUTBOX_COLUMNS}) SELECT ${OUTBOX_COLUMNS} FROM ${outboxUnnest(6)} ORDER BY e.n
       RETURNING 1)
     SELECT serial_number, boot_status FROM points`,
    values: [
      items.map((c) => c.chargePointId),
      items.map((c) => c.version),
      items.map((c) => c.sessionId),
      items.map((c) => c.connectedAt),
      instanceId,
      ...outbox.values,
    ],
  });
  const status = new Map(points.rows.map((r) => [r.serial_number, r.boot_status]));
  return items.map((c) => status.get(c.chargePointId) ?? null);
}

export interface Disconnection {
  chargePointId: string;
  sessionId: string;
  reason: string;
}

/**
 * Records disconnections; returns for each whether it was the recorded session (only that one marks the
 * charger disconnected: a socket replaced by a newer connection, here or elsewhere, closes quietly).
 */
export async function recordDisconnections(pool: pg.Pool, items: Disconnection[]): Promise<boolean[]> {
  const outbox = outboxRows(
    items.map((d) =>
      event(topics.ocppCharger, "charger.disconnected", {
        chargePointId: d.chargePointId,
        reason: d.reason || null,
      }),
    ),
  );
  const gone = await pool.query<{ n: string }>({
    name: "ocpp-record-disconnections",
    text: `WITH v AS (SELECT * FROM unnest($1::text[], $2::uuid[]) WITH ORDINALITY AS v(id, session, n)),
     gone AS (
       DELETE FROM charger_session s USING v WHERE s.charge_point_id = v.id AND s.session_id = v.session
       RETURNING v.n),
     events AS (
       INSERT INTO outbox (${OUTBOX_COLUMNS})
       SELECT ${OUTBOX_COLUMNS} FROM ${outboxUnnest(3)} WHERE e.n IN (SELECT n FROM gone) ORDER BY e.n
       RETURNING 1)
     SELECT n FROM gone`,
    values: [items.map((d) => d.chargePointId), items.map((d) => d.sessionId), ...outbox.values],
  });
  const recorded = new Set(gone.rows.map((r) => Number(r.n)));
  return items.map((_, i) => recorded.has(i + 1));
}
