import { type EventPayload, topics } from "@energy/contracts";
import type { HandlerContext, Subscription } from "@energy/kafka";
import type { Prisma } from "../generated/prisma/client.ts";

type Tx = Prisma.TransactionClient;
const txOf = (ctx: HandlerContext) => ctx.tx as unknown as Tx;
type M = typeof topics.registryMembership;

/** registry.membership.v1: who may read and claim an organization's certificates. */
export const registryMemberships: Subscription = {
  topic: topics.registryMembership.name,
  handlers: {
    "membership.added": (p: EventPayload<M, "membership.added">, ctx) =>
      txOf(ctx)
        .membership.upsert({
          where: { orgId_identityId: { orgId: p.orgId, identityId: p.identityId } },
          create: { orgId: p.orgId, identityId: p.identityId, role: p.role },
          update: { role: p.role },
        })
        .then(() => {}),
    "membership.role_changed": (p: EventPayload<M, "membership.role_changed">, ctx) =>
      txOf(ctx)
        .membership.updateMany({ where: { orgId: p.orgId, identityId: p.identityId }, data: { role: p.to } })
        .then(() => {}),
    "membership.removed": (p: EventPayload<M, "membership.removed">, ctx) =>
      txOf(ctx)
        .membership.deleteMany({ where: { orgId: p.orgId, identityId: p.identityId } })
        .then(() => {}),
  },
};
