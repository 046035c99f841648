import type { EventPayload, topics } from "@energy/contracts";
import {
  BatchConsumerRunner,
  type ConsumerRunnerOptions,
  type DecodedMessage,
  type EventProducer,
  type Logger,
} from "@energy/kafka";
import type { Ingestor } from "../ingest/ingestor.ts";

export const OCPP_READINGS_GROUP_ID = "ingestion.ocpp-readings";

type Measured = EventPayload<typeof topics.ocppCharger, "reading.measured">;

/**
 * Charger readings from the ocpp service (`reading.measured` on ocpp.charger.v1, one per connector and
 * meter value, addressed to the connector's ev_charger_port DER). They go through the same validation as
 * any gateway's readings, with no gateway (gatewayId null: the ocpp service is a trusted internal source),
 * so a charger's energy shows up in its DER's twin and half-hours. The topic's other events (connections,
 * status changes) are not ingestion's business. The offset is committed once the readings are on
 * ingestion.telemetry.v1; a redelivered reading is a duplicate the telemetry store keeps once.
 */
export function ocppReadingsConsumer(opts: {
  kafka: ConsumerRunnerOptions["kafka"];
  producer: EventProducer;
  ingestor: Ingestor;
  topicPrefix?: string;
  logger?: Logger;
  groupId?: string;
}): BatchConsumerRunner {
  return new BatchConsumerRunner({
    kafka: opts.kafka,
    producer: opts.producer,
    groupId: opts.groupId ?? OCPP_READINGS_GROUP_ID,
    topicPrefix: opts.topicPrefix,
    maxBatchSize: 500,
    ...(opts.logger ? { logger: opts.logger } : {}),
    subscriptions: [
      {
        topic: "ocpp.charger.v1",
        handler: async (messages: DecodedMessage[]) => {
          const readings = messages.filter((m) => m.envelope.type === "reading.measured");
          if (readings.length === 0) return;
          const items = readings.map((m) => {
            const { derId, reading } = m.payload as Measured;
            return { derId, reading };
          });
          await opts.ingestor.ingest(items, {
            gatewayId: null,
            channel: "kafka",
            receivedAt: new Date(),
            ...(readings.length === 1 ? { correlationId: readings[0]!.envelope.correlationId } : {}),
          });
        },
      },
    ],
  });
}
