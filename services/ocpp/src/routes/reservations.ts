import { IdSchema } from "@energy/contracts";
import type { FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import { chargerOfOrg, isoOrNull, READERS, type RouteDeps } from "./access.ts";

const Params = z.object({ orgId: IdSchema, chargePointId: IdSchema });
const States = ["active", "used", "expired", "cancelled", "removed"] as const;
const Query = z.object({ state: z.enum(States).optional().describe("only reservations in this state") });
const ReservationView = z.object({
  reservationId: z.int(),
  connectorId: z.int(),
  idTag: z.string(),
  expiresAt: z.string(),
  state: z.enum(States),
  endedAt: z.string().nullable().describe("when it was used (the charger's time), expired or cancelled"),
  transactionId: z.string().nullable().describe("the transaction that used it"),
  usedByIdTag: z.string().nullable(),
  commandId: z.string().describe("the reserve_now command that made it"),
});

/** GET /v1/orgs/:orgId/chargers/:chargePointId/reservations: a charger's reservations, newest expiry first. */
export function reservationRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/v1/orgs/:orgId/chargers/:chargePointId/reservations",
      {
        schema: {
          summary: "A charger's reservations (ReserveNow) and what became of them",
          tags: ["chargers"],
          params: Params,
          querystring: Query,
          response: { 200: z.object({ reservations: z.array(ReservationView) }) },
        },
      },
      async (request) => {
        const { orgId, chargePointId } = request.params;
        await deps.requireOrgRole(request, orgId, READERS);
        await chargerOfOrg(deps.db, orgId, chargePointId);
        const rows = await deps.db.reservation.findMany({
          where: { chargePointId, ...(request.query.state ? { state: request.query.state } : {}) },
          orderBy: [{ expiresAt: "desc" }, { id: "asc" }],
          take: 500,
        });
        return {
          reservations: rows.map((r) => ({
            reservationId: r.id,
            connectorId: r.connectorId,
            idTag: r.idTag,
            expiresAt: r.expiresAt.toISOString(),
            state: r.state as (typeof States)[number],
            endedAt: isoOrNull(r.endedAt),
            transactionId: r.transactionId,
            usedByIdTag: r.usedByIdTag,
            commandId: r.commandId,
          })),
        };
      },
    );
  };
}
