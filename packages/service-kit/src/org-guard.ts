import type { MemberRole } from "@energy/contracts";
import type { FastifyRequest } from "fastify";
import { forbidden, notFound } from "./errors.ts";

export type LookupRole = (identityId: string, orgId: string) => Promise<MemberRole | null>;

export type RequireOrgRole = (
  request: FastifyRequest,
  orgId: string,
  allowed: readonly MemberRole[],
) => Promise<MemberRole>;

/**
 * Organizations are the access boundary. The guard answers a non-member as "organization not found"
 * (404: another organization's data does not exist for the caller), a member whose role is not
 * allowed with 403, and lets the `root` identity through as "owner".
 */
export function createOrgGuard(lookupRole: LookupRole): RequireOrgRole {
  return async function requireOrgRole(request, orgId, allowed) {
    const { id, type } = request.identity;
    if (type === "root") return "owner";
    const role = await lookupRole(id, orgId);
    if (role === null) throw notFound("organization");
    if (!allowed.includes(role)) throw forbidden(`Role ${role} may not do this in the organization`);
    return role;
  };
}
