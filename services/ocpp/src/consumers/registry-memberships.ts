import type { EventPayload, topics } from "@energy/contracts";
import type { Subscription } from "@energy/kafka";
import { inTx } from "./in-tx.ts";

type T = typeof topics.registryMembership;

/** registry.membership.v1 → membership: who may see and command an organization's chargers. */
export const registryMemberships: Subscription = {
  topic: "registry.membership.v1",
  handlers: {
    "membership.added": inTx((tx, p: EventPayload<T, "membership.added">) =>
      tx.membership.upsert({
        where: { orgId_identityId: { orgId: p.orgId, identityId: p.identityId } },
        create: { orgId: p.orgId, identityId: p.identityId, role: p.role },
        update: { role: p.role },
      }),
    ),
    "membership.role_changed": inTx((tx, p: EventPayload<T, "membership.role_changed">) =>
      tx.membership.updateMany({ where: { orgId: p.orgId, identityId: p.identityId }, data: { role: p.to } }),
    ),
    "membership.removed": inTx((tx, p: EventPayload<T, "membership.removed">) =>
      tx.membership.deleteMany({ where: { orgId: p.orgId, identityId: p.identityId } }),
    ),
  },
};
