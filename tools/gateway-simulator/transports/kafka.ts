import { topics } from "@energy/contracts";
/**
 * A trusted bridge: the gateway's batch straight onto `ingestion.raw.v1` (with the platform's topic prefix),
 * keyed by the gateway id, event `batch.received` with `{ gatewayId, signature, body, receivedAt }`. The body
 * is the JSON array text of the items; the signature is ES256 over its UTF-8 bytes with the gateway's
 * registered key, raw r||s, base64url. Ingestion checks the signature and the readings later, so the answer
 * is only the broker's: every item counts as accepted once the broker has the message.
 *
 * The envelope's source is "ingestion": the topic's owner. A bridge is none of the platform's services and
 * ServiceName has no value for it; "ingestion" is the one that names whose intake this is.
 */
import { createKafka, EventProducer, InvalidMessageError } from "@energy/kafka";
import type { TelemetryItem } from "@energy/simulation";
import { signBatch } from "../provision.ts";
import { type BatchResult, type GatewayLink, type Transport, TransportError } from "./transport.ts";

export const RAW_TOPIC = topics.ingestionRaw.name;

export interface KafkaTransportOptions {
  brokers: string;
  topicPrefix?: string;
}

export class KafkaTransport implements Transport {
  readonly name = "kafka";
  private readonly producer: EventProducer;
  private connecting: Promise<void> | null = null;

  constructor(opts: KafkaTransportOptions) {
    const kafka = createKafka({ brokers: opts.brokers, clientId: "gateway-simulator" });
    this.producer = new EventProducer(kafka, { source: "ingestion", topicPrefix: opts.topicPrefix ?? "" });
  }

  async send(gateway: GatewayLink, items: TelemetryItem[]): Promise<BatchResult> {
    if (!gateway.privateKey)
      throw new TransportError(`gateway ${gateway.gatewayId} has no signing key`, false);
    const body = JSON.stringify(items);
    const payload = {
      gatewayId: gateway.gatewayId,
      signature: signBatch(gateway.privateKey, body),
      body,
      receivedAt: new Date().toISOString(),
    };
    const started = performance.now();
    try {
      this.connecting ??= this.producer.connect();
      await this.connecting;
      await this.producer.publish(topics.ingestionRaw, "batch.received", payload);
    } catch (error) {
      this.connecting = null;
      const retriable =
        !(error instanceof InvalidMessageError) && (error as { retriable?: boolean }).retriable !== false;
      throw new TransportError(`publishing to ${RAW_TOPIC}: ${(error as Error).message}`, retriable);
    }
    return { accepted: items.length, rejected: [], latencyMs: performance.now() - started };
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
