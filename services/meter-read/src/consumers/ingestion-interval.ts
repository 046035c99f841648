import { type Envelope, type Interval, topics } from "@energy/contracts";
import { defineBatchSubscription, type MeterReadContext } from "../context.ts";
import { type SqlTx, sqlTransaction } from "../db.ts";
import { storeInTx } from "../reads/store.ts";

/**
 * Reads from telemetry. Only the generation of solar DERs counts as renewable production: a battery's
 * discharge is energy stored earlier (possibly from the grid), a meter's export is what is left after the
 * site's own use, and a charger consumes. A device's read for a half-hour is the sum over its solar DERs,
 * rounded down to whole Wh (the mWh below are not certifiable: never count energy not produced); it goes
 * through the history rules as source "telemetry". A corrected interval (late readings) makes a new version
 * of the read and publishes reads.corrected. Intervals of a device the projection does not know yet are kept
 * and counted with the device's next interval of the same half-hour, not before.
 */
async function applyInterval(tx: SqlTx, interval: Interval, envelope: Envelope, ctx: MeterReadContext) {
  if (interval.derType !== "solar" || interval.generationWh === null) return;
  const start = new Date(interval.intervalStart);
  await tx.$executeRawUnsafe(
    `INSERT INTO telemetry_interval (der_id, interval_start, device_id, generation_wh) VALUES ($1, $2, $3, $4)
     ON CONFLICT (der_id, interval_start) DO UPDATE SET generation_wh = excluded.generation_wh, device_id = excluded.device_id`,
    interval.derId,
    start,
    interval.deviceId,
    interval.generationWh,
  );
  const [device] = await tx.$queryRawUnsafe<Array<{ id: string }>>(
    "SELECT id FROM device WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL",
    interval.deviceId,
    interval.orgId,
  );
  if (!device) {
    ctx.log.warn({ deviceId: interval.deviceId }, "an interval of a device meter-read does not know (yet)");
    return;
  }
  const [sum] = await tx.$queryRawUnsafe<Array<{ wh: number }>>(
    "SELECT sum(generation_wh)::float8 AS wh FROM telemetry_interval WHERE device_id = $1 AND interval_start = $2",
    interval.deviceId,
    start,
  );
  // To the mWh first (ingestion's precision), so 999.9999999 Wh of float noise is still 1,000 Wh.
  const wholeWh = Math.floor(Math.round((sum?.wh ?? 0) * 1000) / 1000);
  await storeInTx(
    tx,
    [
      {
        deviceId: interval.deviceId,
        type: "history",
        source: "telemetry",
        unit: "Wh",
        reads: [
          { index: 0, startMs: start.getTime(), endMs: Date.parse(interval.intervalEnd), value: wholeWh },
        ],
        raw: () => interval,
      },
    ],
    {
      nowMs: Date.now(),
      futureToleranceMs: ctx.config.FUTURE_TOLERANCE_SECONDS * 1000,
      correlationId: envelope.correlationId,
      causationId: envelope.id,
    },
  );
}

/**
 * ingestion.interval.v1, both event types (computed and corrected) alike. No processed-message record: the
 * effect is idempotent by its natural key (the same interval again stores the same sum, which the rules
 * answer as a duplicate), so a redelivery of the last interval changes nothing. Each interval is applied in
 * its own transaction, in offset order; the group takes one message per call (service.ts), so a retry never
 * applies an earlier interval of the same DER and half-hour again after its correction.
 */
export const ingestionInterval = defineBatchSubscription(
  topics.ingestionInterval,
  async (messages, { service }) => {
    for (const m of messages) {
      await sqlTransaction(service.db, (tx) => applyInterval(tx, m.payload, m.envelope, service));
      service.published();
    }
  },
);
