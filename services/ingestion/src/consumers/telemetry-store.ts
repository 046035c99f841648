import {
  BatchConsumerRunner,
  type ConsumerRunnerOptions,
  type EventProducer,
  type Logger,
} from "@energy/kafka";
import type { Db } from "../db.ts";
import { type AcceptedReading, applyReadings } from "../store/apply-readings.ts";

export const STORE_GROUP_ID = "ingestion.telemetry-store";

/**
 * Applies ingestion.telemetry.v1 to ingestion's own state, a few thousand readings per transaction:
 * raw readings, twins, half-hourly energy, liveness (see store/apply-readings.ts). Offsets are
 * committed after the transaction; a redelivered reading is found stored and changes nothing.
 */
export function telemetryStore(opts: {
  kafka: ConsumerRunnerOptions["kafka"];
  producer: EventProducer;
  db: Db;
  /** wakes the outbox relay (interval and liveness events) */
  published: () => void;
  topicPrefix?: string;
  logger?: Logger;
  groupId?: string;
  maxBatchSize?: number;
}): BatchConsumerRunner {
  return new BatchConsumerRunner({
    kafka: opts.kafka,
    producer: opts.producer,
    groupId: opts.groupId ?? STORE_GROUP_ID,
    topicPrefix: opts.topicPrefix,
    maxBatchSize: opts.maxBatchSize ?? 5_000,
    partitionsConsumedConcurrently: 2,
    ...(opts.logger ? { logger: opts.logger } : {}),
    subscriptions: [
      {
        topic: "ingestion.telemetry.v1",
        // ingestion alone produces this topic and checked every reading before producing it
        trustedPayload: true,
        handler: async (messages) => {
          const result = await applyReadings(
            opts.db,
            messages.map((m) => m.payload as AcceptedReading),
          );
          if (result.intervalsComputed + result.intervalsCorrected + result.devicesBackActive > 0)
            opts.published();
        },
      },
    ],
  });
}
