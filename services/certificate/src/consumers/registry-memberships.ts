import { topics } from "@energy/contracts";
import { defineSubscription } from "../context.ts";

/** registry.membership.v1: who may read and claim an organization's certificates. */
export const registryMemberships = defineSubscription(topics.registryMembership, {
  "membership.added": (p, { tx }) =>
    tx.membership
      .upsert({
        where: { orgId_identityId: { orgId: p.orgId, identityId: p.identityId } },
        create: { orgId: p.orgId, identityId: p.identityId, role: p.role },
        update: { role: p.role },
      })
      .then(() => {}),
  "membership.role_changed": (p, { tx }) =>
    tx.membership
      .updateMany({ where: { orgId: p.orgId, identityId: p.identityId }, data: { role: p.to } })
      .then(() => {}),
  "membership.removed": (p, { tx }) =>
    tx.membership.deleteMany({ where: { orgId: p.orgId, identityId: p.identityId } }).then(() => {}),
});
