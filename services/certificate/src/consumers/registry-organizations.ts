import { type EventPayload, topics } from "@energy/contracts";
import type { HandlerContext, Subscription } from "@energy/kafka";
import type { Prisma } from "../generated/prisma/client.ts";

type Tx = Prisma.TransactionClient;
const txOf = (ctx: HandlerContext) => ctx.tx as unknown as Tx;
type O = typeof topics.registryOrganization;

/** registry.organization.v1: the creator is the owner (later members come on registry.membership.v1). */
export const registryOrganizations: Subscription = {
  topic: topics.registryOrganization.name,
  handlers: {
    "organization.created": (p: EventPayload<O, "organization.created">, ctx) =>
      txOf(ctx)
        .membership.upsert({
          where: { orgId_identityId: { orgId: p.orgId, identityId: p.ownerIdentityId } },
          create: { orgId: p.orgId, identityId: p.ownerIdentityId, role: "owner" },
          update: {},
        })
        .then(() => {}),
  },
};
