import { topics } from "@energy/contracts";
import { membershipProjection } from "@energy/service-kit";
import { defineSubscription, type Tx } from "../context.ts";

/** Who may write (owner, admin, operator) and read (every member) an organization's reads. */
export const registryMembership = defineSubscription(
  topics.registryMembership,
  membershipProjection((tx: Tx) => tx.membership),
);
