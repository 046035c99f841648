import type { MemberRole } from "@energy/contracts";
import { badRequest } from "@energy/service-kit";
import type { OrgGuard } from "../app.ts";
import type { Db } from "../db.ts";
import type { RuleViolation } from "../domain/device-rules.ts";

/** Who may do what inside an organization. */
export const READERS = ["owner", "admin", "operator", "viewer"] as const satisfies readonly MemberRole[];
export const WRITERS = ["owner", "admin", "operator"] as const satisfies readonly MemberRole[];
export const MANAGERS = ["owner", "admin"] as const satisfies readonly MemberRole[];
/** Who may invite and see the invitations: managers, and the D-REC device owner / sub buyer (operator). */
export const INVITERS = WRITERS;

/** What app.ts gives every organization-scoped route plugin. */
export type RouteDeps = { db: Db; requireOrgRole: OrgGuard; published: () => void };

/** A Prisma unique-constraint violation (P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "P2002";
}

/** A broken domain rule as a 400 naming its field. */
export function ruleError(violation: RuleViolation) {
  return badRequest(violation.code, violation.message, { field: violation.field });
}
