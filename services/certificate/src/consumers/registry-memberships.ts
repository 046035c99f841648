import { topics } from "@energy/contracts";
import { membershipProjection } from "@energy/service-kit";
import { defineSubscription, type Tx } from "../context.ts";

/** registry.membership.v1: who may read and claim an organization's certificates. */
export const registryMemberships = defineSubscription(
  topics.registryMembership,
  membershipProjection((tx: Tx) => tx.membership),
);
