import { ConsumerRunner, type ConsumerRunnerOptions, type EventProducer, type Logger } from "@energy/kafka";
import type { Db } from "../db.ts";
import { certificateResults } from "./certificate-results.ts";
import { meterReads } from "./meter-reads.ts";
import { registryDevice } from "./registry-device.ts";
import { registryMembership } from "./registry-membership.ts";
import { registryOrganization } from "./registry-organization.ts";

export const PROJECTION_GROUP_ID = "reservation.projections";
export const READS_GROUP_ID = "reservation.meter-reads";

interface RunnerDeps {
  kafka: ConsumerRunnerOptions["kafka"];
  producer: EventProducer;
  db: Db;
  topicPrefix?: string;
  logger?: Logger;
}

const group = (deps: RunnerDeps, name: string) => `${deps.topicPrefix ?? ""}${name}`;

/**
 * The registry projections and certificate results: small, ordered per entity, one group. Meter reads
 * have a group of their own so a backlog of reads never delays a new device or a certificate result.
 * Every handler is one subscription file per topic (consumers/*.ts).
 */
export function createConsumers(deps: RunnerDeps): ConsumerRunner[] {
  const base = {
    kafka: deps.kafka,
    producer: deps.producer,
    db: deps.db,
    topicPrefix: deps.topicPrefix,
    ...(deps.logger ? { logger: deps.logger } : {}),
  };
  return [
    new ConsumerRunner({
      ...base,
      groupId: group(deps, PROJECTION_GROUP_ID),
      subscriptions: [registryOrganization, registryMembership, registryDevice, certificateResults],
    }),
    new ConsumerRunner({ ...base, groupId: group(deps, READS_GROUP_ID), subscriptions: [meterReads] }),
  ];
}
