import { topics } from "@energy/contracts";
import { defineSubscription } from "../context.ts";

/** registry.membership.v1 → membership: who may see and command an organization's chargers. */
export const registryMemberships = defineSubscription(topics.registryMembership, {
  "membership.added": ({ orgId, identityId, role }, { tx }) =>
    tx.membership.upsert({
      where: { orgId_identityId: { orgId, identityId } },
      create: { orgId, identityId, role },
      update: { role },
    }),
  "membership.role_changed": ({ orgId, identityId, to }, { tx }) =>
    tx.membership.updateMany({ where: { orgId, identityId }, data: { role: to } }),
  "membership.removed": ({ orgId, identityId }, { tx }) =>
    tx.membership.deleteMany({ where: { orgId, identityId } }),
});
