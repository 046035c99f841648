import { topics } from "@energy/contracts";
import { defineSubscription } from "../context.ts";

/** registry.organization.v1: the creator is the owner (later members come on registry.membership.v1). */
export const registryOrganizations = defineSubscription(topics.registryOrganization, {
  "organization.created": (p, { tx }) =>
    tx.membership
      .upsert({
        where: { orgId_identityId: { orgId: p.orgId, identityId: p.ownerIdentityId } },
        create: { orgId: p.orgId, identityId: p.ownerIdentityId, role: "owner" },
        update: {},
      })
      .then(() => {}),
});
