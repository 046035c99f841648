import type { MemberRole } from "@energy/contracts";
import { notFound, type RequireOrgRole } from "@energy/service-kit";
import { type Db, query } from "../db.ts";

/** Who may submit reads: the seed's organization admins and device owners. */
export const WRITERS = ["owner", "admin", "operator"] as const satisfies readonly MemberRole[];
/** Who may switch a device's read source: its organization's owners and admins. */
export const SOURCE_SWITCHERS = ["owner", "admin"] as const satisfies readonly MemberRole[];
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
  const [device] = await query<DeviceInfo[]>(
    db,
    `SELECT d.id, d.org_id AS "orgId", d.external_id AS "externalId", coalesce(s.timezone, 'UTC') AS timezone
       FROM device d LEFT JOIN site s ON s.id = d.site_id
      WHERE d.id = $1 AND d.org_id = $2 AND d.deleted_at IS NULL`,
    deviceId,
    orgId,
  );
  if (!device) throw notFound("device");
  return device;
}
