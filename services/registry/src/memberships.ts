import { type MemberRole, MemberRoleSchema, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import { conflict, forbidden, notFound } from "@energy/service-kit";
import type { Db } from "./db.ts";
import { removalViolation, roleChangeViolation } from "./domain/roles.ts";

/**
 * Membership changes and their rules, in one place for every route that changes members
 * (organizations, invitations): only an owner grants or takes away `owner`; the last owner is never
 * removed or demoted; every change records its registry.membership.v1 event in the same transaction.
 * Call inside the caller's transaction.
 */
type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

/** Serializes membership changes of one organization (the last-owner rule reads, then writes). */
export async function lockMembers(tx: Tx, orgId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`org-members:${orgId}`}))`;
}

const ownersOf = (tx: Tx, orgId: string) => tx.membership.count({ where: { orgId, role: "owner" } });

/** A broken role rule (domain/roles.ts) as its HTTP error. */
function refuse(violation: { code: "forbidden" | "last_owner"; message: string }): never {
  throw violation.code === "forbidden"
    ? forbidden(violation.message)
    : conflict("last_owner", violation.message);
}

export async function addMember(
  tx: Tx,
  m: { orgId: string; identityId: string; role: MemberRole },
  correlationId: string,
): Promise<void> {
  await tx.membership.create({ data: m });
  await enqueueEvent(tx, topics.registryMembership, "membership.added", m, { correlationId });
}

/** Changes a member's role; false when it already had it. */
export async function changeRole(
  tx: Tx,
  m: { orgId: string; identityId: string; role: MemberRole; callerRole: MemberRole },
  correlationId: string,
): Promise<boolean> {
  const { orgId, identityId, role } = m;
  await lockMembers(tx, orgId);
  const member = await tx.membership.findUnique({ where: { orgId_identityId: { orgId, identityId } } });
  if (!member) throw notFound("member");
  const from = MemberRoleSchema.parse(member.role);
  if (from === role) return false;
  const owners = from === "owner" ? await ownersOf(tx, orgId) : 0;
  const violation = roleChangeViolation(m.callerRole, from, role, owners);
  if (violation) refuse(violation);
  await tx.membership.update({ where: { orgId_identityId: { orgId, identityId } }, data: { role } });
  await enqueueEvent(
    tx,
    topics.registryMembership,
    "membership.role_changed",
    { orgId, identityId, from, to: role },
    { correlationId },
  );
  return true;
}

/** Removes a member; false when it was not a member. */
export async function removeMember(
  tx: Tx,
  m: { orgId: string; identityId: string; callerRole: MemberRole },
  correlationId: string,
): Promise<boolean> {
  const { orgId, identityId } = m;
  await lockMembers(tx, orgId);
  const where = { orgId_identityId: { orgId, identityId } };
  const member = await tx.membership.findUnique({ where });
  if (!member) return false;
  const role = MemberRoleSchema.parse(member.role);
  const violation = removalViolation(m.callerRole, role, role === "owner" ? await ownersOf(tx, orgId) : 0);
  if (violation) refuse(violation);
  await tx.membership.delete({ where });
  await enqueueEvent(
    tx,
    topics.registryMembership,
    "membership.removed",
    { orgId, identityId },
    { correlationId },
  );
  return true;
}
