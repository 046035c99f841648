import type { z } from "zod";
import type { ServiceName } from "./envelope.ts";

/** `<service>.<entity>.v<N>`; the service is the topic's owner, the only producer. */
export type TopicNameOf<Owner extends ServiceName> = `${Owner}.${string}.v${number}`;

/** The payload of any event of a topic (the union over its event types). */
type AnyPayload<Events extends Record<string, z.ZodType>> = z.output<Events[keyof Events]>;

export type Topic<
  Name extends string = string,
  Owner extends ServiceName = ServiceName,
  Events extends Record<string, z.ZodType> = Record<string, z.ZodType>,
> = {
  name: Name;
  owner: Owner;
  /** What the Kafka message key is, e.g. "device id": one entity's events stay in order. */
  key: string;
  /** The message key of an event, from its payload (every event of a topic carries the entity's id). */
  keyOf: (payload: AnyPayload<Events>) => string;
  /** Payload schema per event type (the envelope's `type`, `<entity>.<past-tense-verb>`). */
  events: Events;
};

/** Declares a topic; keeps the literal name and event types so payloads stay typed. */
export function defineTopic<
  const Owner extends ServiceName,
  const Name extends TopicNameOf<Owner>,
  const Events extends Record<string, z.ZodType>,
>(topic: Topic<Name, Owner, Events>): Topic<Name, Owner, Events> {
  return topic;
}

/** Any declared topic, whatever its events (what publishing and consuming code accepts). */
// biome-ignore lint/suspicious/noExplicitAny: the widest topic type; each call site narrows it again
export type AnyTopic = Topic<string, ServiceName, any>;

/** The event types of a topic, e.g. `EventTypeOf<typeof topics.registryDevice>`. */
export type EventTypeOf<T extends AnyTopic> = keyof T["events"] & string;

/** The payload of one event as consumers see it (the schema's output), e.g. `EventPayload<typeof topics.registryDevice, "device.registered">`. */
export type EventPayload<T extends AnyTopic, K extends EventTypeOf<T>> = z.output<T["events"][K]>;

/** The payload of one event as producers give it (the schema's input: defaults may be left out). */
export type EventInput<T extends AnyTopic, K extends EventTypeOf<T>> = z.input<T["events"][K]>;
