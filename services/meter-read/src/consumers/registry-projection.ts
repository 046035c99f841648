import { ConsumerRunner, type ConsumerRunnerOptions, type EventProducer, type Logger } from "@energy/kafka";
import type { Db } from "../db.ts";
import { deviceSubscription } from "./registry-device.ts";
import { membershipSubscription } from "./registry-membership.ts";
import { organizationSubscription } from "./registry-organization.ts";
import { siteSubscription } from "./registry-site.ts";

export const PROJECTION_GROUP_ID = "meter-read.registry-projection";

/**
 * meter-read's copy of what it needs from the registry (one file per topic beside this one). Snapshots are
 * upserted, so replaying from the start rebuilds the same tables.
 */
export function registryProjection(opts: {
  kafka: ConsumerRunnerOptions["kafka"];
  producer: EventProducer;
  db: Db;
  topicPrefix?: string;
  logger?: Logger;
  groupId?: string;
}): ConsumerRunner {
  return new ConsumerRunner({
    kafka: opts.kafka,
    producer: opts.producer,
    db: opts.db,
    groupId: opts.groupId ?? PROJECTION_GROUP_ID,
    topicPrefix: opts.topicPrefix,
    ...(opts.logger ? { logger: opts.logger } : {}),
    subscriptions: [organizationSubscription, membershipSubscription, siteSubscription, deviceSubscription],
  });
}
