import { IdSchema } from "@energy/contracts";
import type { FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import { chargerOfOrg, READERS, type RouteDeps } from "./access.ts";

const Params = z.object({ orgId: IdSchema, chargePointId: IdSchema });
const name = z.string().min(1).max(50);
const Query = z.object({
  component: name.optional().describe("only this component (e.g. EVSE, OCPPCommCtrlr)"),
  variable: name.optional().describe("only this variable (e.g. Power, HeartbeatInterval)"),
});
const VariableView = z.object({
  component: z.string(),
  componentInstance: z.string().nullable(),
  evseId: z.int().nullable(),
  evseConnectorId: z.int().nullable(),
  variable: z.string(),
  variableInstance: z.string().nullable(),
  attributeType: z.string().describe("Actual, Target, MinSet or MaxSet"),
  value: z.string().nullable(),
  mutability: z.string().nullable(),
  persistent: z.boolean().nullable(),
  constant: z.boolean().nullable(),
  dataType: z.string().nullable(),
  unit: z.string().nullable(),
  minLimit: z.number().nullable(),
  maxLimit: z.number().nullable(),
  valuesList: z.string().nullable(),
  supportsMonitoring: z.boolean().nullable(),
  requestId: z.int().describe("the GetBaseReport / GetReport request it answered"),
  reportedAt: z.string().describe("the charger's time of the report"),
});

/**
 * GET /v1/orgs/:orgId/chargers/:chargePointId/device-model: a 2.0.1 charger's device model as its
 * NotifyReports gave it, one entry per component, variable and attribute type (the newest value reported).
 */
export function deviceModelRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/v1/orgs/:orgId/chargers/:chargePointId/device-model",
      {
        schema: {
          summary: "A charger's reported device model: components, variables and their values (members)",
          tags: ["chargers"],
          params: Params,
          querystring: Query,
          response: { 200: z.object({ variables: z.array(VariableView) }) },
        },
      },
      async (request) => {
        const { orgId, chargePointId } = request.params;
        await deps.requireOrgRole(request, orgId, READERS);
        await chargerOfOrg(deps.db, orgId, chargePointId);
        const { component, variable } = request.query;
        const rows = await deps.db.deviceVariable.findMany({
          where: { chargePointId, ...(component ? { component } : {}), ...(variable ? { variable } : {}) },
          orderBy: [
            { component: "asc" },
            { componentInstance: "asc" },
            { evseId: "asc" },
            { evseConnectorId: "asc" },
            { variable: "asc" },
            { variableInstance: "asc" },
            { attributeType: "asc" },
          ],
          take: 5000,
        });
        return {
          variables: rows.map((r) => ({
            component: r.component,
            componentInstance: r.componentInstance || null,
            evseId: r.evseId || null,
            evseConnectorId: r.evseConnectorId || null,
            variable: r.variable,
            variableInstance: r.variableInstance || null,
            attributeType: r.attributeType,
            value: r.value,
            mutability: r.mutability,
            persistent: r.persistent,
            constant: r.constant,
            dataType: r.dataType,
            unit: r.unit,
            minLimit: r.minLimit,
            maxLimit: r.maxLimit,
            valuesList: r.valuesList,
            supportsMonitoring: r.supportsMonitoring,
            requestId: r.requestId,
            reportedAt: r.reportedAt.toISOString(),
          })),
        };
      },
    );
  };
}
