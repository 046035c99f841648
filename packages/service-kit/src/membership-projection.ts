import type { topics } from "@energy/contracts";
import type { EventHandlers } from "@energy/kafka";

type MemberKey = { orgId: string; identityId: string };

/**
 * What the projection needs of a service's `membership` table (org id, identity id, role; primary key
 * `(orgId, identityId)`). A Prisma delegate of such a model (`tx.membership`) is one as it is, no cast.
 */
export interface MembershipTable {
  upsert(args: {
    where: { orgId_identityId: MemberKey };
    create: MemberKey & { role: string };
    update: { role: string };
  }): PromiseLike<unknown>;
  updateMany(args: { where: MemberKey; data: { role: string } }): PromiseLike<unknown>;
  deleteMany(args: { where: MemberKey }): PromiseLike<unknown>;
}

/**
 * The handlers of registry.membership.v1 that keep a service's copy of who belongs to which organization
 * with which role (what its org guard reads): added → upsert (a replay after a role change lands on the
 * same row), role_changed → the new role, removed → gone. `table` picks the table in the handler's
 * transaction:
 *
 *   export const registryMemberships = defineSubscription(
 *     topics.registryMembership,
 *     membershipProjection((tx: Tx) => tx.membership),
 *   );
 */
export function membershipProjection<Tx, S = unknown>(
  table: (tx: Tx) => MembershipTable,
): EventHandlers<typeof topics.registryMembership, Tx, S> {
  return {
    "membership.added": ({ orgId, identityId, role }, { tx }) =>
      Promise.resolve(
        table(tx).upsert({
          where: { orgId_identityId: { orgId, identityId } },
          create: { orgId, identityId, role },
          update: { role },
        }),
      ),
    "membership.role_changed": ({ orgId, identityId, to }, { tx }) =>
      Promise.resolve(table(tx).updateMany({ where: { orgId, identityId }, data: { role: to } })),
    "membership.removed": ({ orgId, identityId }, { tx }) =>
      Promise.resolve(table(tx).deleteMany({ where: { orgId, identityId } })),
  };
}
