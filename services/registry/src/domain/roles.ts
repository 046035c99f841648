import type { MemberRole } from "@energy/contracts";

/**
 * Who may grant, change and take away which role in an organization. Pure: the routes load the caller's
 * and the member's roles (and the number of owners, under the organization's member lock) and call these.
 */

/** The member roles from most to least powerful. */
export const ROLE_RANK: Record<MemberRole, number> = { owner: 3, admin: 2, operator: 1, viewer: 0 };

/** Whether a member with role `caller` may invite someone as `role`: at most their own, and never owner. */
export function mayGrant(caller: MemberRole, role: MemberRole): boolean {
  return ROLE_RANK[role] <= Math.min(ROLE_RANK[caller], ROLE_RANK.admin);
}

/** Why `caller` (a manager) may not add a member with `role`, if not: only an owner adds an owner. */
export function addMemberViolation(caller: MemberRole, role: MemberRole): string | null {
  return role === "owner" && caller !== "owner" ? "Only an owner may add an owner" : null;
}

/** Why `caller` may not change a member's role `from` → `to`, if not. `owners`: how many the organization has. */
export function roleChangeViolation(
  caller: MemberRole,
  from: MemberRole,
  to: MemberRole,
  owners: number,
): { code: "forbidden" | "last_owner"; message: string } | null {
  if (from === to) return null;
  if ((from === "owner" || to === "owner") && caller !== "owner") {
    return { code: "forbidden", message: "Only an owner may grant or take away the owner role" };
  }
  if (from === "owner" && owners <= 1) {
    return { code: "last_owner", message: "identityId: the organization's last owner" };
  }
  return null;
}

/** Why `caller` may not remove a member with role `role`, if not. `owners`: how many the organization has. */
export function removalViolation(
  caller: MemberRole,
  role: MemberRole,
  owners: number,
): { code: "forbidden" | "last_owner"; message: string } | null {
  if (role !== "owner") return null;
  if (caller !== "owner") return { code: "forbidden", message: "Only an owner may remove an owner" };
  if (owners <= 1) return { code: "last_owner", message: "identityId: the organization's last owner" };
  return null;
}
