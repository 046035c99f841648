import { IdSchema, IsoDateTimeSchema } from "@energy/contracts";
import type { FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import { chargerOfOrg, isoOrNull, READERS, type RouteDeps } from "./access.ts";

const Params = z.object({ orgId: IdSchema, chargePointId: IdSchema });
const Query = z.object({
  connectorId: z.coerce
    .number()
    .int()
    .min(0)
    .max(2_147_483_647)
    .optional()
    .describe("only this connector's limits (0: the whole charge point)"),
  at: IsoDateTimeSchema.optional().describe("only the limits in force at this instant"),
});
const LimitView = z.object({
  connectorId: z.int().describe("0 is the whole charge point"),
  limitW: z.int(),
  validFrom: z.string(),
  validTo: z.string().nullable().describe("null: still in force"),
  commandId: z.string().describe("the set_power_limit that set it"),
  endedByCommandId: z.string().nullable().describe("the set_power_limit or clear_power_limit that ended it"),
});

/**
 * GET /v1/orgs/:orgId/chargers/:chargePointId/charging-limits: every power limit set on the charger
 * (SetChargingProfile / ClearChargingProfile it Accepted) with the time it was in force, newest first.
 */
export function chargingLimitRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/v1/orgs/:orgId/chargers/:chargePointId/charging-limits",
      {
        schema: {
          summary: "The history of a charger's power limits (members)",
          tags: ["chargers"],
          params: Params,
          querystring: Query,
          response: { 200: z.object({ limits: z.array(LimitView) }) },
        },
      },
      async (request) => {
        const { orgId, chargePointId } = request.params;
        await deps.requireOrgRole(request, orgId, READERS);
        await chargerOfOrg(deps.db, orgId, chargePointId);
        const { connectorId, at } = request.query;
        const instant = at ? new Date(at) : null;
        const rows = await deps.db.chargingLimit.findMany({
          where: {
            chargePointId,
            ...(connectorId !== undefined ? { connectorId } : {}),
            ...(instant
              ? { validFrom: { lte: instant }, OR: [{ validTo: null }, { validTo: { gt: instant } }] }
              : {}),
          },
          orderBy: [{ validFrom: "desc" }, { id: "desc" }],
          take: 1000,
        });
        return {
          limits: rows.map((r) => ({
            connectorId: r.connectorId,
            limitW: r.limitW,
            validFrom: r.validFrom.toISOString(),
            validTo: isoOrNull(r.validTo),
            commandId: r.commandId,
            endedByCommandId: r.endedByCommandId,
          })),
        };
      },
    );
  };
}
