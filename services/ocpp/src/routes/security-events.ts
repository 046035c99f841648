import { IdSchema, IsoDateTimeSchema } from "@energy/contracts";
import type { FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import { chargerOfOrg, READERS, type RouteDeps } from "./access.ts";

const Params = z.object({ orgId: IdSchema, chargePointId: IdSchema });
const Query = z.object({
  type: z.string().min(1).max(50).optional().describe("only this type (e.g. TamperDetectionActivated)"),
  critical: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional()
    .describe("only the critical ones (or only the others)"),
  since: IsoDateTimeSchema.optional().describe("only events at or after this instant (charger time)"),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const SecurityEventView = z.object({
  type: z.string(),
  critical: z
    .boolean()
    .describe("OCPP's Security Events list marks it critical (an unknown type counts as critical)"),
  occurredAt: z.string().describe("the charger's time"),
  receivedAt: z.string(),
  techInfo: z.string().nullable(),
});

/** GET /v1/orgs/:orgId/chargers/:chargePointId/security-events: what the charger reported, newest first. */
export function securityEventRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/v1/orgs/:orgId/chargers/:chargePointId/security-events",
      {
        schema: {
          summary: "A charger's security events (SecurityEventNotification) (members)",
          tags: ["chargers"],
          params: Params,
          querystring: Query,
          response: { 200: z.object({ securityEvents: z.array(SecurityEventView) }) },
        },
      },
      async (request) => {
        const { orgId, chargePointId } = request.params;
        await deps.requireOrgRole(request, orgId, READERS);
        await chargerOfOrg(deps.db, orgId, chargePointId);
        const { type, critical, since, limit } = request.query;
        const rows = await deps.db.securityEvent.findMany({
          where: {
            chargePointId,
            ...(type ? { type } : {}),
            ...(critical !== undefined ? { critical } : {}),
            ...(since ? { occurredAt: { gte: new Date(since) } } : {}),
          },
          orderBy: [{ occurredAt: "desc" }, { id: "desc" }],
          take: limit,
        });
        return {
          securityEvents: rows.map((r) => ({
            type: r.type,
            critical: r.critical,
            occurredAt: r.occurredAt.toISOString(),
            receivedAt: r.receivedAt.toISOString(),
            techInfo: r.techInfo,
          })),
        };
      },
    );
  };
}
