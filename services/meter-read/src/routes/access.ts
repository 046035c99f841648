import type { MemberRole } from "@energy/contracts";
import { notFound, type RequireOrgRole } from "@energy/service-kit";
import type { Db } from "../db.ts";

/** Who may submit reads: the seed's organization admins and device owners. */
export const WRITERS = ["owner", "admin", "operator"] as const satisfies readonly MemberRole[];
/** Who may see them: every member (the seed's users are viewers). */
export const READERS = ["owner", "admin", "operator", "viewer"] as const satisfies readonly MemberRole[];

/** What app.ts gives every organization-scoped route plugin. */
export type RouteDeps = { db: Db; requireOrgRole: RequireOrgRole };

export interface DeviceInfo {
  id: string;
  orgId: string;
  externalId: string | null;
  timezone: string;
}

/** A device of the organization (another organization's device, or a deleted one, is not found). */
export async function findDevice(db: Db, orgId: string, deviceId: string): Promise<DeviceInfo> {
  const device = await db.device.findFirst({ where: { id: deviceId, orgId, deletedAt: null } });
  if (!device) throw notFound("device");
  const site = await db.site.findUnique({ where: { id: device.siteId } });
  return {
    id: device.id,
    orgId: device.orgId,
    externalId: device.externalId,
    timezone: site?.timezone ?? "UTC",
  };
}
