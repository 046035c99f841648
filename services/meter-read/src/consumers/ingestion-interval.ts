import { type Interval, topics } from "@energy/contracts";
import {
  ConsumerRunner,
  type ConsumerRunnerOptions,
  type EventProducer,
  type HandlerContext,
  type Logger,
} from "@energy/kafka";
import { type Db, type SqlTx, sqlTransaction } from "../db.ts";
import { storeInTx } from "../reads/store.ts";

export const INTERVAL_GROUP_ID = "meter-read.ingestion-interval";

/**
 * Reads from telemetry. Only the generation of solar DERs counts as renewable production: a battery's
 * discharge is energy stored earlier (possibly from the grid), a meter's export is what is left after the
 * site's own use, and a charger consumes. A device's read for a half-hour is the sum over its solar DERs,
 * rounded down to whole Wh (the mWh below are not certifiable: never count energy not produced); it goes
 * through the history rules as source "telemetry". A corrected interval (late readings) makes a new version
 * of the read and publishes reads.corrected. Intervals of a device the projection does not know yet are kept
 * and counted with the device's next interval of the same half-hour, not before.
 */
async function applyInterval(tx: SqlTx, interval: Interval, ctx: HandlerContext, opts: IntervalOptions) {
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
    opts.logger?.warn(
      { deviceId: interval.deviceId },
      "an interval of a device meter-read does not know (yet)",
    );
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
      futureToleranceMs: opts.futureToleranceMs,
      correlationId: ctx.envelope.correlationId,
      causationId: ctx.envelope.id,
    },
  );
}

interface IntervalOptions {
  futureToleranceMs: number;
  published?: () => void;
  logger?: Logger;
}

export function intervalConsumer(
  opts: IntervalOptions & {
    kafka: ConsumerRunnerOptions["kafka"];
    producer: EventProducer;
    db: Db;
    topicPrefix?: string;
    groupId?: string;
  },
): ConsumerRunner {
  // No processed-message record: the effect is idempotent by its natural key (the same interval again
  // stores the same sum, which the rules answer as a duplicate), so a redelivery changes nothing.
  const handler = async (interval: Interval, ctx: HandlerContext) => {
    await sqlTransaction(opts.db, (tx) => applyInterval(tx, interval, ctx, opts));
    opts.published?.();
  };
  return new ConsumerRunner({
    kafka: opts.kafka,
    producer: opts.producer,
    groupId: opts.groupId ?? INTERVAL_GROUP_ID,
    topicPrefix: opts.topicPrefix,
    ...(opts.logger ? { logger: opts.logger } : {}),
    subscriptions: [
      {
        topic: topics.ingestionInterval.name,
        handlers: { "interval.computed": handler, "interval.corrected": handler },
      },
    ],
  });
}
