import { IdSchema, IsoDateTimeSchema } from "@energy/contracts";
import type { FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import { chargerOfOrg, READERS, type RouteDeps } from "./access.ts";

const Params = z.object({ orgId: IdSchema, chargePointId: IdSchema });
const name = z.string().min(1).max(50);
const Query = z.object({
  component: name.optional(),
  variable: name.optional(),
  since: IsoDateTimeSchema.optional().describe("only events at or after this instant (charger time)"),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const EventView = z.object({
  eventId: z.int(),
  eventAt: z.string().describe("the charger's time of the event"),
  receivedAt: z.string(),
  trigger: z.string().describe("Alerting, Delta or Periodic"),
  notificationType: z.string(),
  cause: z.int().nullable().describe("the eventId of the event that caused it"),
  actualValue: z.string(),
  cleared: z.boolean().describe("the monitored situation returned to normal"),
  techCode: z.string().nullable(),
  techInfo: z.string().nullable(),
  transactionId: z.string().nullable(),
  variableMonitoringId: z.int().nullable(),
  component: z.string(),
  componentInstance: z.string().nullable(),
  evseId: z.int().nullable(),
  evseConnectorId: z.int().nullable(),
  variable: z.string(),
  variableInstance: z.string().nullable(),
});

/**
 * GET /v1/orgs/:orgId/chargers/:chargePointId/events: a 2.0.1 charger's NotifyEvent events, newest first,
 * by component and variable.
 */
export function deviceEventRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/v1/orgs/:orgId/chargers/:chargePointId/events",
      {
        schema: {
          summary: "A charger's device events (NotifyEvent): component, variable, value (members)",
          tags: ["chargers"],
          params: Params,
          querystring: Query,
          response: { 200: z.object({ events: z.array(EventView) }) },
        },
      },
      async (request) => {
        const { orgId, chargePointId } = request.params;
        await deps.requireOrgRole(request, orgId, READERS);
        await chargerOfOrg(deps.db, orgId, chargePointId);
        const { component, variable, since, limit } = request.query;
        const rows = await deps.db.deviceEvent.findMany({
          where: {
            chargePointId,
            ...(component ? { component } : {}),
            ...(variable ? { variable } : {}),
            ...(since ? { eventAt: { gte: new Date(since) } } : {}),
          },
          orderBy: [{ eventAt: "desc" }, { id: "desc" }],
          take: limit,
        });
        return {
          events: rows.map((r) => ({
            eventId: r.eventId,
            eventAt: r.eventAt.toISOString(),
            receivedAt: r.receivedAt.toISOString(),
            trigger: r.trigger,
            notificationType: r.notificationType,
            cause: r.cause,
            actualValue: r.actualValue,
            cleared: r.cleared,
            techCode: r.techCode,
            techInfo: r.techInfo,
            transactionId: r.transactionId,
            variableMonitoringId: r.variableMonitoringId,
            component: r.component,
            componentInstance: r.componentInstance,
            evseId: r.evseId,
            evseConnectorId: r.evseConnectorId,
            variable: r.variable,
            variableInstance: r.variableInstance,
          })),
        };
      },
    );
  };
}
