import type { z } from "zod";
import type { AnyTopic } from "./topic.ts";
import { certificateTopics } from "./topics/certificate.ts";
import { ingestionTopics } from "./topics/ingestion.ts";
import { meterReadTopics } from "./topics/meter-read.ts";
import { ocppTopics } from "./topics/ocpp.ts";
import { registryTopics } from "./topics/registry.ts";
import { reservationTopics } from "./topics/reservation.ts";

/** Every topic of the platform by name, e.g. `topics.registryDevice.events["device.registered"]`. */
export const topics = {
  ...registryTopics,
  ...ingestionTopics,
  ...ocppTopics,
  ...meterReadTopics,
  ...reservationTopics,
  ...certificateTopics,
};

export const catalog: readonly AnyTopic[] = Object.values(topics);

export const topicNames = catalog.map((topic) => topic.name);
export type TopicName = (typeof topicNames)[number];

const byName = new Map<string, AnyTopic>(catalog.map((topic) => [topic.name, topic]));

/** The payload schema of an event type on a topic; undefined when the catalog does not declare it. */
export function findEventSchema(topicName: string, eventType: string): z.ZodType | undefined {
  const events = byName.get(topicName)?.events;
  return events && Object.hasOwn(events, eventType) ? events[eventType] : undefined;
}

/** The catalog's topic of that name; undefined when there is none. */
export function findTopic(topicName: string): AnyTopic | undefined {
  return byName.get(topicName);
}
