import type { MemberRole } from "@energy/contracts";
import { badRequest, type RequireOrgRole } from "@energy/service-kit";
import type { Db } from "../db.ts";
import type { ParamProblem } from "../domain/periods.ts";

/** Who may read an organization's twins, intervals, rollups and liveness: every member. */
export const READERS = ["owner", "admin", "operator", "viewer"] as const satisfies readonly MemberRole[];

/** What app.ts gives every organization-scoped read route plugin. */
export type ReadRouteDeps = { db: Db; requireOrgRole: RequireOrgRole };

/** A bad query parameter as a 400 naming it (`invalid_query`, details.field). */
export function queryError({ field, message }: ParamProblem) {
  return badRequest("invalid_query", message, { field });
}

/** A stored time as the API shows it (ISO 8601, UTC). */
export const iso = (date: Date): string => date.toISOString();
export const isoOrNull = (date: Date | null | undefined): string | null => (date ? date.toISOString() : null);
