import type { z } from "zod";
import type { ServiceName } from "./envelope.ts";

/** `<service>.<entity>.v<N>`; the service is the topic's owner, the only producer. */
export type TopicNameOf<Owner extends ServiceName> = `${Owner}.${string}.v${number}`;

export type Topic<
  Name extends string = string,
  Owner extends ServiceName = ServiceName,
  Events extends Record<string, z.ZodType> = Record<string, z.ZodType>,
> = {
  name: Name;
  owner: Owner;
  /** What the Kafka message key is, e.g. "device id": one entity's events stay in order. */
  key: string;
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

/** The event types of a topic, e.g. `EventTypeOf<typeof topics.registryDevice>`. */
export type EventTypeOf<T extends Topic> = keyof T["events"] & string;

/** The payload of one event, e.g. `EventPayload<typeof topics.registryDevice, "device.registered">`. */
export type EventPayload<T extends Topic, K extends EventTypeOf<T>> = z.infer<T["events"][K]>;
