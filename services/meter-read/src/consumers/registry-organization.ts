import { type EventPayload, topics } from "@energy/contracts";
import type { Subscription } from "@energy/kafka";
import { inTx } from "./tx.ts";

type Org = typeof topics.registryOrganization;

/** The creator of an organization is its owner; registry.membership.v1 carries the later members. */
export const organizationSubscription: Subscription = {
  topic: topics.registryOrganization.name,
  handlers: {
    "organization.created": inTx((tx, p: EventPayload<Org, "organization.created">) =>
      tx.membership.upsert({
        where: { orgId_identityId: { orgId: p.orgId, identityId: p.ownerIdentityId } },
        create: { orgId: p.orgId, identityId: p.ownerIdentityId, role: "owner" },
        update: {},
      }),
    ),
    "organization.deleted": inTx((tx, p: EventPayload<Org, "organization.deleted">) =>
      tx.membership.deleteMany({ where: { orgId: p.orgId } }),
    ),
  },
};
