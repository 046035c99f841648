import { topics } from "@energy/contracts";
import { membershipProjection } from "@energy/service-kit";
import { defineSubscription, type Tx } from "../context.ts";

/** Who may read an organization's data (the owner comes with registry.organization.v1). */
export const registryMemberships = defineSubscription(
  topics.registryMembership,
  membershipProjection((tx: Tx) => tx.membership),
);
