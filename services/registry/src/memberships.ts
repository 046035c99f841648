import { type MemberRole, MemberRoleSchema, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import { conflict, forbidden, notFound } from "@energy/service-kit";
import type { Db } from "./db.ts";

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

async function assertNotLastOwner(tx: Tx, orgId: string): Promise<void> {
  const owners = await tx.membership.count({ where: { orgId, role: "owner" } });
  if (owners <= 1) throw conflict("last_owner", "identityId: the organization's last owner");
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
  if (member.role === role) return false;
  if ((member.role === "owner" || role === "owner") && m.callerRole !== "owner") {
    throw forbidden("Only an owner may grant or take away the owner role");
  }
  if (member.role === "owner") await assertNotLastOwner(tx, orgId);
  await tx.membership.update({ where: { orgId_identityId: { orgId, identityId } }, data: { role } });
  await enqueueEvent(
    tx,
    topics.registryMembership,
    "membership.role_changed",
    { orgId, identityId, from: MemberRoleSchema.parse(member.role), to: role },
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
  if (member.role === "owner") {
    if (m.callerRole !== "owner") throw forbidden("Only an owner may remove an owner");
    await assertNotLastOwner(tx, orgId);
  }
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
