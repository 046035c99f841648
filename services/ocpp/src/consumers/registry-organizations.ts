import { topics } from "@energy/contracts";
import { defineSubscription } from "../context.ts";

/** registry.organization.v1: the creator of an organization is its owner (later members: membership.v1). */
export const registryOrganizations = defineSubscription(topics.registryOrganization, {
  "organization.created": ({ orgId, ownerIdentityId }, { tx }) =>
    tx.membership.upsert({
      where: { orgId_identityId: { orgId, identityId: ownerIdentityId } },
      create: { orgId, identityId: ownerIdentityId, role: "owner" },
      update: {},
    }),
});
