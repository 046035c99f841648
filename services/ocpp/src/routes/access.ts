import type { MemberRole } from "@energy/contracts";
import { notFound, type RequireOrgRole } from "@energy/service-kit";
import type { Db } from "../db.ts";

/** Who may see an organization's chargers: every member. */
export const READERS = ["owner", "admin", "operator", "viewer"] as const satisfies readonly MemberRole[];
/** Who may command them and add id tags. */
export const OPERATORS = ["owner", "admin", "operator"] as const satisfies readonly MemberRole[];
/** Who may set their passwords. */
export const ADMINS = ["owner", "admin"] as const satisfies readonly MemberRole[];

/** What app.ts gives every organization-scoped route plugin. */
export type RouteDeps = { db: Db; requireOrgRole: RequireOrgRole };

/** A charger of the organization, or 404 (another organization's charger does not exist for the caller). */
export async function chargerOfOrg(db: Db, orgId: string, chargePointId: string) {
  const device = await db.chargerDevice.findUnique({ where: { id: chargePointId } });
  if (!device || device.orgId !== orgId) throw notFound("charger");
  return device;
}

export const isoOrNull = (date: Date | null | undefined): string | null => (date ? date.toISOString() : null);
