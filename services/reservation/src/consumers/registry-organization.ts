import type { EventPayload, topics } from "@energy/contracts";
import type { Subscription } from "@energy/kafka";
import { inTx, type Tx } from "./tx.ts";

type Org = EventPayload<typeof topics.registryOrganization, "organization.created">;

const upsert = async (tx: Tx, org: Org) => {
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
export const registryOrganization: Subscription = {
  topic: "registry.organization.v1",
  handlers: {
    "organization.created": inTx(upsert),
    "organization.updated": inTx(upsert),
    "organization.deleted": inTx((tx, p: { orgId: string }) =>
      tx.organization.updateMany({ where: { id: p.orgId }, data: { deleted: true } }),
    ),
  },
};
