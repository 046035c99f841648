import { topics } from "@energy/contracts";
import { membershipProjection } from "@energy/service-kit";
import { defineSubscription, type Tx } from "../context.ts";

/** Members and roles: who may create (owner, admin, operator) or read (viewer) an organization's reservations. */
export const registryMembership = defineSubscription(
  topics.registryMembership,
  membershipProjection((tx: Tx) => tx.membership),
);
