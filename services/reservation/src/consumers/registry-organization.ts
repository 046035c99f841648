import { type Organization, topics } from "@energy/contracts";
import { defineSubscription, type Tx } from "../context.ts";

const upsert = async (tx: Tx, org: Organization) => {
  const data = { name: org.name, kind: org.kind, deleted: false };
  await tx.organization.upsert({
    where: { id: org.orgId },
    create: { id: org.orgId, ...data },
    update: data,
  });
  // The creator is the owner; registry.membership.v1 carries later members.
  await tx.membership.upsert({
    where: { orgId_identityId: { orgId: org.orgId, identityId: org.ownerIdentityId } },
    create: { orgId: org.orgId, identityId: org.ownerIdentityId, role: "owner" },
    update: {},
  });
};

/** Organizations: their name (the D-REC document's) and kind (only buyers reserve). Snapshots, upserted. */
export const registryOrganization = defineSubscription(topics.registryOrganization, {
  "organization.created": (org, { tx }) => upsert(tx, org),
  "organization.updated": (org, { tx }) => upsert(tx, org),
  "organization.deleted": ({ orgId }, { tx }) =>
    tx.organization.updateMany({ where: { id: orgId }, data: { deleted: true } }),
});
