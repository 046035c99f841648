import type { EventPayload, topics } from "@energy/contracts";
import type { Subscription } from "@energy/kafka";
import { inTx } from "./in-tx.ts";

/** registry.organization.v1: the creator of an organization is its owner (later members: membership.v1). */
export const registryOrganizations: Subscription = {
  topic: "registry.organization.v1",
  handlers: {
    "organization.created": inTx(
      (tx, p: EventPayload<typeof topics.registryOrganization, "organization.created">) =>
        tx.membership.upsert({
          where: { orgId_identityId: { orgId: p.orgId, identityId: p.ownerIdentityId } },
          create: { orgId: p.orgId, identityId: p.ownerIdentityId, role: "owner" },
          update: {},
        }),
    ),
  },
};
