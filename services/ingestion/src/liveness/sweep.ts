import { type DeviceLivenessChanged, type DeviceState, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import type { Db } from "../db.ts";
import { type LivenessThresholds, livenessChange } from "../domain/liveness.ts";

export interface SweepOptions extends LivenessThresholds {
  now: Date;
}

/** One device moved by a sweep (the payload of its `device.state_changed`). */
export type LivenessChange = DeviceLivenessChanged;

interface CandidateRow {
  device_id: string;
  org_id: string;
  state: string;
  last_seen_at: Date | null;
  changed_at: Date;
}

/**
 * Moves devices that went silent to stale or disconnected, in one transaction, with one
 * `device.state_changed` per change in the outbox. Rows are locked in device id order (the order
 * markHeardFrom locks them in); a row a reading is updating right now is skipped: that device was just
 * heard from. Returns the changes, in device id order.
 */
export async function sweepLiveness(db: Db, opts: SweepOptions): Promise<LivenessChange[]> {
  const now = opts.now.getTime();
  // Only rows already silent for staleAfterMs can change: the (state, last_seen_at) index finds them.
  const silentSince = new Date(now - opts.staleAfterMs);
  return db.$transaction(
    async (tx) => {
      const rows = await tx.$queryRawUnsafe<CandidateRow[]>(
        `SELECT device_id, org_id, state, last_seen_at, changed_at FROM device_liveness
          WHERE state IN ('active', 'stale')
            AND (last_seen_at <= $1 OR (last_seen_at IS NULL AND changed_at <= $1))
          ORDER BY device_id
          FOR UPDATE SKIP LOCKED`,
        silentSince,
      );
      const changes: LivenessChange[] = [];
      for (const row of rows) {
        const record = {
          state: row.state,
          lastSeenAt: row.last_seen_at?.getTime() ?? null,
          changedAt: row.changed_at.getTime(),
        };
        const to = livenessChange(record, now, opts);
        if (!to) continue;
        changes.push({
          deviceId: row.device_id,
          orgId: row.org_id,
          from: row.state as DeviceState,
          to,
          lastSeenAt: row.last_seen_at?.toISOString() ?? null,
        });
      }
      if (changes.length === 0) return changes;
      await tx.$executeRawUnsafe(
        `UPDATE device_liveness AS l SET state = c.state, changed_at = $3
           FROM unnest($1::text[], $2::text[]) AS c(device_id, state)
          WHERE l.device_id = c.device_id`,
        changes.map((c) => c.deviceId),
        changes.map((c) => c.to),
        opts.now,
      );
      for (const change of changes) {
        await enqueueEvent(tx, topics.ingestionLiveness, "device.state_changed", change, {
          occurredAt: opts.now.toISOString(),
        });
      }
      return changes;
    },
    { timeout: 60_000, maxWait: 30_000 },
  );
}
