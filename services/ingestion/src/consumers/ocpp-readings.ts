import { topics } from "@energy/contracts";
import { defineBatchSubscription } from "../context.ts";

/**
 * Charger readings from the ocpp service (`reading.measured` on ocpp.charger.v1, one per connector and
 * meter value, addressed to the connector's ev_charger_port DER). They go through the same validation as
 * any gateway's readings, with no gateway (gatewayId null: the ocpp service is a trusted internal source),
 * so a charger's energy shows up in its DER's twin and half-hours. The topic's other events (connections,
 * status changes) are not ingestion's business. The offset is committed once the readings are on
 * ingestion.telemetry.v1; a redelivered reading is a duplicate the telemetry store keeps once.
 */
export const ocppReadings = defineBatchSubscription(topics.ocppCharger, async (messages, { service }) => {
  const items = messages.flatMap((m) =>
    m.envelope.type === "reading.measured" && "reading" in m.payload
      ? [{ derId: m.payload.derId, reading: m.payload.reading }]
      : [],
  );
  if (items.length === 0) return;
  await service.ingestor.ingest(items, {
    gatewayId: null,
    channel: "kafka",
    receivedAt: new Date(),
    ...(messages.length === 1 ? { correlationId: messages[0]!.envelope.correlationId } : {}),
  });
});
