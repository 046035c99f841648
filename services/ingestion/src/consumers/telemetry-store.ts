import type { ReadingsAccepted } from "@energy/contracts";
import {
  BatchConsumerRunner,
  type ConsumerRunnerOptions,
  type EventProducer,
  type Logger,
} from "@energy/kafka";
import { Counter, type Registry } from "prom-client";
import type { Db } from "../db.ts";
import { applyReadings, eachReading } from "../store/apply-readings.ts";

export const STORE_GROUP_ID = "ingestion.telemetry-store";
/** Readings applied per database transaction (each reading is stored once, so a split changes nothing). */
const READINGS_PER_TRANSACTION = 4_000;

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
  /** where to count readings stored and duplicates (the service's registry; one store per registry) */
  metrics?: Registry;
}): BatchConsumerRunner {
  const counter = (name: string, help: string) =>
    opts.metrics ? new Counter({ name, help, registers: [opts.metrics] }) : undefined;
  const storedReadings = counter("ingestion_readings_stored_total", "readings stored by the telemetry store");
  const duplicateReadings = counter(
    "ingestion_readings_duplicate_total",
    "readings the telemetry store found stored already (redelivered or sent twice)",
  );
  return new BatchConsumerRunner({
    kafka: opts.kafka,
    producer: opts.producer,
    groupId: opts.groupId ?? STORE_GROUP_ID,
    topicPrefix: opts.topicPrefix,
    // messages, each one DER's readings from one batch (a fetch brings at most 1 MiB per partition anyway)
    maxBatchSize: opts.maxBatchSize ?? 500,
    partitionsConsumedConcurrently: 2,
    ...(opts.logger ? { logger: opts.logger } : {}),
    subscriptions: [
      {
        topic: "ingestion.telemetry.v1",
        // ingestion alone produces this topic and checked every reading before producing it
        trustedPayload: true,
        handler: async (messages, ctx) => {
          // At most READINGS_PER_TRANSACTION readings per transaction, heartbeating between them: a
          // chunk of large messages can hold hundreds of thousands of readings after a backlog.
          const readings = eachReading(messages.map((m) => m.payload as ReadingsAccepted));
          let events = 0;
          for (let i = 0; i < readings.length; i += READINGS_PER_TRANSACTION) {
            const result = await applyReadings(opts.db, readings.slice(i, i + READINGS_PER_TRANSACTION));
            events += result.intervalsComputed + result.intervalsCorrected + result.devicesBackActive;
            storedReadings?.inc(result.stored);
            duplicateReadings?.inc(result.duplicates);
            await ctx.heartbeat();
          }
          if (events > 0) opts.published();
        },
      },
    ],
  });
}
