import { ConsumerRunner, type ConsumerRunnerOptions, type EventProducer, type Logger } from "@energy/kafka";
import type { Db } from "../db.ts";
import { registryDers } from "./registry-ders.ts";
import { registryDevices } from "./registry-devices.ts";
import { registryMemberships } from "./registry-memberships.ts";
import { registryOrganizations } from "./registry-organizations.ts";

export const PROJECTION_GROUP_ID = "ocpp.registry-projection";

/**
 * The registry data the central system needs: charger devices (who may connect), their ev_charger_port
 * DERs (where readings go) and memberships (who may command them). Snapshots are upserted, so replaying
 * the topics from the start rebuilds the same tables.
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
    subscriptions: [registryDevices, registryDers, registryMemberships, registryOrganizations],
  });
}
