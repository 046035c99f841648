import type { MemberRole } from "@energy/contracts";

/** What a list shows: `expired` is not stored, it is a pending invitation past its `expiresAt`. */
export type InvitationStatus = "pending" | "accepted" | "expired";

export function invitationStatus(
  invitation: { status: string; expiresAt: Date },
  now: Date = new Date(),
): InvitationStatus {
  if (invitation.status === "accepted") return "accepted";
  return invitation.expiresAt.getTime() <= now.getTime() ? "expired" : "pending";
}

/** Whether an invitation can still be accepted. */
export function isAcceptable(invitation: { status: string; expiresAt: Date }, now: Date = new Date()) {
  return invitationStatus(invitation, now) === "pending";
}

/** The roles an invitation may grant: every member role but owner (ownership is given, not invited). */
export const INVITABLE_ROLES = ["admin", "operator", "viewer"] as const satisfies readonly MemberRole[];

/** The D-REC seed's roles per organization kind, as the member roles an invitation grants (see README). */
export const DREC_ROLE_MAPPING = {
  developer: { "organization admin": "admin", "device owner": "operator", user: "viewer" },
  buyer: { "organization admin": "admin", "sub buyer": "operator", user: "viewer" },
} as const satisfies Record<string, Record<string, (typeof INVITABLE_ROLES)[number]>>;
