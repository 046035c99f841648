import {
  type AnyTopic,
  type Envelope,
  type EventInput,
  type EventTypeOf,
  findEventSchema,
  type ServiceName,
} from "@energy/contracts";
import type { Kafka, Message, Producer } from "kafkajs";
import { createEnvelope, ENVELOPE_HEADER, envelopeToHeaders } from "./envelope.ts";
import { describeZodError, InvalidMessageError } from "./errors.ts";
import { encodedBytes, MessageTooLargeError, maxMessageBytes } from "./message-size.ts";

/** What a publisher may set besides topic, type and payload. */
export interface EventOptions {
  /** the message key; default the topic's `keyOf(payload)` (the entity id: one entity's events stay in order) */
  key?: string;
  /** default a fresh uuid */
  id?: string;
  /** default now */
  occurredAt?: string;
  /** default the event's own id: pass the request's or the causing message's */
  correlationId?: string;
  /** envelope id of the message that caused this one */
  causationId?: string | null;
  schemaVersion?: number;
}

/**
 * One event of a catalog topic, ready to be published or enqueued. Build it with `event()`, which types
 * the payload from the topic's contract; the payload is validated again when it is prepared.
 */
export interface OutgoingEvent {
  topic: AnyTopic;
  type: string;
  payload: unknown;
  options?: EventOptions;
}

/**
 * An event of `topic`: the event type must be one the topic declares, and the payload is typed by its
 * schema, so the compiler refuses a wrong topic, event type or payload.
 */
export function event<T extends AnyTopic, K extends EventTypeOf<T>>(
  topic: T,
  type: K,
  payload: EventInput<T, K>,
  options?: EventOptions,
): OutgoingEvent {
  return options ? { topic, type, payload, options } : { topic, type, payload };
}

/** A validated event with its envelope and key, addressed to a topic by name (without prefix). */
export interface PreparedMessage {
  /** catalog topic name */
  topic: string;
  key: string;
  envelope: Envelope;
  /** the payload as the contract parsed it */
  payload: unknown;
  /** the payload already serialized as JSON (the outbox relay's rows): sent as it is, not encoded again */
  json?: string;
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

/** The payload of an event whose type the catalog declares for its topic, unparsed. */
function trustedEvent(e: OutgoingEvent): unknown {
  if (!findEventSchema(e.topic.name, e.type))
    throw new InvalidMessageError(`${e.topic.name} has no event type "${e.type}" in the contracts catalog`);
  return e.payload;
}

/**
 * Validates an event and gives it an envelope and key; nothing is sent. With `trustedPayload` only the event
 * type is checked against the catalog, and the payload is taken as it is: see enqueueEvents.
 */
export function prepareEvent(
  source: ServiceName,
  e: OutgoingEvent,
  opts: { trustedPayload?: boolean } = {},
): PreparedMessage {
  const payload = opts.trustedPayload ? trustedEvent(e) : validateEvent(e.topic.name, e.type, e.payload);
  const { key, ...envelope } = e.options ?? {};
  return {
    topic: e.topic.name,
    key: key ?? e.topic.keyOf(payload),
    envelope: createEnvelope({ ...envelope, type: e.type, source }),
    payload,
  };
}

/**
 * The one producer of a service: idempotent, acks from all in-sync replicas, keyed messages.
 * Every event is validated against packages/contracts before it is sent.
 */
export class EventProducer {
  private producer: Producer;
  private connected = false;
  /** producers replaced by renew(), each disconnected by its timer or by disconnect() */
  private readonly retired = new Map<Producer, NodeJS.Timeout>();
  /** sendCoalesced calls waiting for the request in flight to end */
  private readonly coalescing: CoalescedSend[] = [];
  private coalescingInFlight = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: { source: ServiceName; topicPrefix?: string },
  ) {
    this.producer = this.createProducer();
  }

  private createProducer(): Producer {
    return this.kafka.producer({
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
    const retired = [...this.retired];
    this.retired.clear();
    for (const [, timer] of retired) clearTimeout(timer);
    await Promise.all([
      this.producer.disconnect(),
      ...retired.map(([old]) => old.disconnect().catch(() => {})),
    ]);
  }

  /** Validates and publishes one event; resolves with its envelope when the broker acknowledged it. */
  async publish<T extends AnyTopic, K extends EventTypeOf<T>>(
    topic: T,
    type: K,
    payload: EventInput<T, K>,
    options?: EventOptions,
  ): Promise<Envelope>;
  async publish(topic: AnyTopic, type: string, payload: unknown, options?: EventOptions): Promise<Envelope> {
    const [envelope] = await this.publishAll([{ topic, type, payload, options }]);
    return envelope!;
  }

  /** Validates and publishes events (in the given order per topic); resolves when the broker acknowledged. */
  async publishAll(events: readonly OutgoingEvent[]): Promise<Envelope[]> {
    const prepared = events.map((e) => prepareEvent(this.opts.source, e));
    await this.sendPrepared(prepared);
    return prepared.map((p) => p.envelope);
  }

  /** Sends messages that already carry a validated payload and envelope (the outbox relay does this). */
  async sendPrepared(messages: readonly PreparedMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const { byTopic } = this.encode(messages);
    await this.producer.sendBatch({ acks: -1, topicMessages: topicMessages([byTopic]) });
  }

  /**
   * Sends like sendPrepared, in one produce request with the other sendCoalesced calls made while the
   * previous request was on its way (in the order of the calls: one key's messages stay in order).
   * kafkajs's idempotent producer has one produce request per broker in flight at a time (its broker lock),
   * so concurrent sends wait for each other anyway; merged, they take one round trip instead of one each.
   * A request holds at most half the broker's message size limit (maxMessageBytes), so that no partition's
   * record batch of it can exceed the limit: a larger send goes alone. A failed request fails every call in
   * it (each caller's messages are then unsent or, once the producer has retried, possibly sent: as any
   * failed send). A message over the size limit fails its own call only, before anything is queued.
   * For senders whose messages are all valid (ingestion's accepted readings); the outbox relay, which
   * must tell one unpublishable row from the others, uses sendPrepared.
   */
  async sendCoalesced(messages: readonly PreparedMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const { byTopic, bytes } = this.encode(messages);
    return new Promise((resolve, reject) => {
      this.coalescing.push({ byTopic, bytes, resolve, reject });
      this.sendQueued();
    });
  }

  /** Sends what sendCoalesced queued, one request at a time. */
  private sendQueued(): void {
    if (this.coalescingInFlight || this.coalescing.length === 0) return;
    const limit = maxMessageBytes() / 2;
    let bytes = 0;
    let count = 0;
    while (count < this.coalescing.length) {
      const next = this.coalescing[count]!;
      if (count > 0 && bytes + next.bytes > limit) break;
      bytes += next.bytes;
      count++;
    }
    const sends = this.coalescing.splice(0, count);
    this.coalescingInFlight = true;
    this.producer
      .sendBatch({ acks: -1, topicMessages: topicMessages(sends.map((s) => s.byTopic)) })
      .then(
        () => {
          for (const s of sends) s.resolve();
        },
        (error: unknown) => {
          for (const s of sends) s.reject(error);
        },
      )
      .finally(() => {
        this.coalescingInFlight = false;
        this.sendQueued();
      });
  }

  /** The messages as kafkajs sends them, by full topic name, and about how many bytes they are. */
  private encode(messages: readonly PreparedMessage[]): { byTopic: Map<string, Message[]>; bytes: number } {
    const byTopic = new Map<string, Message[]>();
    let bytes = 0;
    for (const m of messages) {
      const topic = this.topicName(m.topic);
      let list = byTopic.get(topic);
      if (!list) {
        list = [];
        byTopic.set(topic, list);
      }
      const value = m.json ?? JSON.stringify(m.payload);
      const headers = envelopeToHeaders(m.envelope);
      bytes += checkFits(m, value, headers);
      list.push({ key: m.key, value, headers });
    }
    return { byTopic, bytes };
  }

  /**
   * Replaces the kafkajs producer with a fresh one (a new producer id, sequence numbers from 0). After the
   * broker refused part of a send (MESSAGE_TOO_LARGE on one partition while others appended), the old
   * producer's sequence numbers no longer match the broker's and every later send to those partitions
   * fails with OUT_OF_ORDER_SEQUENCE_NUMBER. Sends already under way finish on the old producer, which is
   * disconnected a little later.
   */
  async renew(): Promise<void> {
    const fresh = this.createProducer();
    await fresh.connect();
    const old = this.producer;
    this.producer = fresh;
    const timer = setTimeout(() => {
      this.retired.delete(old);
      old.disconnect().catch(() => {});
    }, 5_000);
    this.retired.set(old, timer.unref());
  }

  /** Sends already-encoded messages to a full topic name (used for dead letters). */
  async sendRaw(topic: string, messages: Message[]): Promise<void> {
    await this.producer.send({ topic, acks: -1, messages });
  }
}

interface CoalescedSend {
  byTopic: Map<string, Message[]>;
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** The topics' messages of one or more sends, in their order, as one sendBatch's topicMessages. */
function topicMessages(
  sends: readonly Map<string, Message[]>[],
): Array<{ topic: string; messages: Message[] }> {
  if (sends.length === 1) return [...sends[0]!].map(([topic, messages]) => ({ topic, messages }));
  const merged = new Map<string, Message[]>();
  for (const byTopic of sends) {
    for (const [topic, messages] of byTopic) {
      const list = merged.get(topic);
      if (list) list.push(...messages);
      else merged.set(topic, [...messages]);
    }
  }
  return [...merged].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * Refuses a message over the size limit before anything is sent (cheap unless the value is large). Returns
 * its size in UTF-16 code units (key, value, envelope header): the UTF-8 bytes of ASCII JSON, fewer than those
 * of other text, which is as exact as sendCoalesced's bound needs.
 */
function checkFits(m: PreparedMessage, value: string, headers: Record<string, string>): number {
  const limit = maxMessageBytes();
  const units = value.length + m.key.length + (headers[ENVELOPE_HEADER]?.length ?? 0);
  // UTF-8 takes at most 3 bytes per UTF-16 code unit: most messages need no exact count.
  if (units * 3 + 64 <= limit) return units;
  const bytes = encodedBytes(m.key, value, headers);
  if (bytes > limit) throw new MessageTooLargeError(bytes, limit, `${m.envelope.type} on ${m.topic}`);
  return units;
}
