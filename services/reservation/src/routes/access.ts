import type { MemberRole } from "@energy/contracts";
import { forbidden, notFound, type RequireOrgRole } from "@energy/service-kit";
import { z } from "zod";
import type { Db } from "../db.ts";

/** Every member reads a buyer's reservations; owners, admins and operators (the seed's sub buyer) write. */
export const READERS = ["owner", "admin", "operator", "viewer"] as const satisfies readonly MemberRole[];
export const WRITERS = ["owner", "admin", "operator"] as const satisfies readonly MemberRole[];

/** What app.ts gives every organization-scoped route plugin. */
export type RouteDeps = {
  db: Db;
  requireOrgRole: RequireOrgRole;
  /** wakes the outbox relay and the issuance job after a transaction that changed reservations */
  published: () => void;
  defaultYieldKwhPerKwpYear: number;
};

/** Only buyer organizations reserve (developers own devices; their reservations would be meaningless). */
export async function buyerOrg(db: Db, orgId: string) {
  const org = await db.organization.findUnique({ where: { id: orgId } });
  if (!org || org.deleted) throw notFound("organization");
  if (org.kind !== "buyer") throw forbidden("only a buyer organization makes reservations");
  return org;
}

/** An IANA time zone the runtime knows, e.g. Asia/Kolkata. */
export const TimezoneSchema = z
  .string()
  .min(1)
  .max(64) // longer than any IANA zone name (the longest are ~32 characters)
  .refine(
    (zone) => {
      try {
        new Intl.DateTimeFormat("en", { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    },
    { message: "not a known IANA time zone" },
  );
