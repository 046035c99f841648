import { topics } from "@energy/contracts";
import { membershipProjection } from "@energy/service-kit";
import { defineSubscription, type Tx } from "../context.ts";

/** registry.membership.v1 → membership: who may see and command an organization's chargers. */
export const registryMemberships = defineSubscription(
  topics.registryMembership,
  membershipProjection((tx: Tx) => tx.membership),
);
