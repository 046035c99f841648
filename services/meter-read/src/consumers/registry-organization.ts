import { topics } from "@energy/contracts";
import { defineSubscription } from "../context.ts";

/** The creator of an organization is its owner; registry.membership.v1 carries the later members. */
export const registryOrganization = defineSubscription(topics.registryOrganization, {
  "organization.created": ({ orgId, ownerIdentityId }, { tx }) =>
    tx.membership.upsert({
      where: { orgId_identityId: { orgId, identityId: ownerIdentityId } },
      create: { orgId, identityId: ownerIdentityId, role: "owner" },
      update: {},
    }),
  "organization.deleted": ({ orgId }, { tx }) => tx.membership.deleteMany({ where: { orgId } }),
});
