import { type EventPayload, topics } from "@energy/contracts";
import type { Subscription } from "@energy/kafka";
import { inTx } from "./tx.ts";

type Membership = typeof topics.registryMembership;

/** Who may write (owner, admin, operator) and read (every member) an organization's reads. */
export const membershipSubscription: Subscription = {
  topic: topics.registryMembership.name,
  handlers: {
    "membership.added": inTx((tx, p: EventPayload<Membership, "membership.added">) =>
      tx.membership.upsert({
        where: { orgId_identityId: { orgId: p.orgId, identityId: p.identityId } },
        create: { orgId: p.orgId, identityId: p.identityId, role: p.role },
        update: { role: p.role },
      }),
    ),
    "membership.role_changed": inTx((tx, p: EventPayload<Membership, "membership.role_changed">) =>
      tx.membership.updateMany({ where: { orgId: p.orgId, identityId: p.identityId }, data: { role: p.to } }),
    ),
    "membership.removed": inTx((tx, p: EventPayload<Membership, "membership.removed">) =>
      tx.membership.deleteMany({ where: { orgId: p.orgId, identityId: p.identityId } }),
    ),
  },
};
