import { type Envelope, findEventSchema, type ServiceName } from "@energy/contracts";
import type { Kafka, Message, Producer } from "kafkajs";
import { createEnvelope, type EnvelopeInit, envelopeToHeaders } from "./envelope.ts";
import { describeZodError, InvalidMessageError } from "./errors.ts";

export interface EventToPublish {
  /** catalog topic name, e.g. "registry.device.v1" (the prefix is added by the producer) */
  topic: string;
  /** the entity id: one entity's events stay in order */
  key: string;
  /** event type, e.g. "device.registered" */
  type: string;
  payload: unknown;
  envelope?: Omit<Partial<EnvelopeInit>, "type" | "source">;
}

export interface PreparedMessage {
  topic: string;
  key: string;
  envelope: Envelope;
  /** the payload as the contract parsed it */
  payload: unknown;
}

/**
 * Checks a payload against its topic's contract. Throws InvalidMessageError naming the field.
 * Returns the parsed payload (defaults applied, unknown keys as the schema says).
 */
export function validateEvent(topic: string, type: string, payload: unknown): unknown {
  const schema = findEventSchema(topic, type);
  if (!schema) throw new InvalidMessageError(`${topic} has no event type "${type}" in the contracts catalog`);
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const issues = describeZodError(parsed.error, "payload");
    throw new InvalidMessageError(
      `${type} on ${topic} is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
      issues,
    );
  }
  return parsed.data;
}

/** Validates an event and gives it an envelope; nothing is sent. */
export function prepareEvent(source: ServiceName, event: EventToPublish): PreparedMessage {
  const payload = validateEvent(event.topic, event.type, event.payload);
  const envelope = createEnvelope({ ...event.envelope, type: event.type, source });
  return { topic: event.topic, key: event.key, envelope, payload };
}

/**
 * The one producer of a service: idempotent, acks from all in-sync replicas, keyed messages.
 * Every event is validated against packages/contracts before it is sent.
 */
export class EventProducer {
  private readonly producer: Producer;
  private connected = false;

  constructor(
    kafka: Kafka,
    private readonly opts: { source: ServiceName; topicPrefix?: string },
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
  }

  get source(): ServiceName {
    return this.opts.source;
  }

  topicName(topic: string): string {
    return (this.opts.topicPrefix ?? "") + topic;
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    await this.producer.connect();
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    await this.producer.disconnect();
  }

  /** Validates and publishes events (in the given order per topic); resolves when the broker acknowledged. */
  async publish(events: EventToPublish | EventToPublish[]): Promise<Envelope[]> {
    const list = Array.isArray(events) ? events : [events];
    const prepared = list.map((e) => prepareEvent(this.opts.source, e));
    await this.sendPrepared(prepared);
    return prepared.map((p) => p.envelope);
  }

  /** Sends messages that already carry a validated payload and envelope (the outbox relay does this). */
  async sendPrepared(messages: PreparedMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const byTopic = new Map<string, Message[]>();
    for (const m of messages) {
      const topic = this.topicName(m.topic);
      const list = byTopic.get(topic) ?? [];
      byTopic.set(topic, list);
      list.push({ key: m.key, value: JSON.stringify(m.payload), headers: envelopeToHeaders(m.envelope) });
    }
    await this.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })),
    });
  }

  /** Sends already-encoded messages to a full topic name (used for dead letters). */
  async sendRaw(topic: string, messages: Message[]): Promise<void> {
    await this.producer.send({ topic, acks: -1, messages });
  }
}
