import { IdSchema } from "@energy/contracts";
import type { FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import { chargerOfOrg, isoOrNull, READERS, type RouteDeps } from "./access.ts";

const OrgParams = z.object({ orgId: IdSchema });
const ChargerParams = OrgParams.extend({ chargePointId: IdSchema });

const ConnectorView = z.object({
  connectorId: z.int().describe("1.6 connector id; 2.0.1 EVSE id; 0 is the charge point itself"),
  status: z.string().describe("connector_status (seed vocabulary)"),
  chargingState: z.string().nullable(),
  ocppStatus: z.string().nullable().describe("the status word the charger sent"),
  errorCode: z.string().nullable(),
  energyRegisterWh: z.number().nullable(),
  limitW: z.int().nullable().describe("power limit in force from a charging profile"),
  lastUpdated: z.string(),
});
const ChargerView = z.object({
  chargePointId: z.string(),
  name: z.string(),
  type: z.string(),
  connected: z.boolean(),
  ocppVersion: z.string().nullable(),
  vendor: z.string().nullable(),
  model: z.string().nullable(),
  firmwareVersion: z.string().nullable(),
  bootStatus: z.string().nullable().describe("what its last BootNotification was answered"),
  registration: z
    .object({ status: z.enum(["Accepted", "Rejected"]), decidedBy: z.string(), decidedAt: z.string() })
    .nullable()
    .describe("an owner's or admin's decision (PUT .../registration); null: BOOT_POLICY decides"),
  status: z.string(),
  lastHeartbeat: z.string().nullable(),
  clockSkewMs: z.number().nullable(),
  hasPassword: z.boolean(),
  securityProfile: z
    .int()
    .nullable()
    .describe("1: Basic auth over ws or wss; 2: over wss only; null: no password set"),
  connectors: z.array(ConnectorView),
});

/** GET /v1/orgs/:orgId/chargers[/:chargePointId]: the organization's chargers as the central system sees them. */
export function chargerRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  const view = async (ids: string[]) => {
    const [devices, points, sessions, credentials, registrations] = await Promise.all([
      deps.db.chargerDevice.findMany({ where: { id: { in: ids } }, orderBy: { id: "asc" } }),
      deps.db.chargePoint.findMany({ where: { serialNumber: { in: ids } }, include: { connectors: true } }),
      deps.db.chargerSession.findMany({ where: { chargePointId: { in: ids } } }),
      deps.db.chargerCredential.findMany({
        where: { chargePointId: { in: ids } },
        select: { chargePointId: true, securityProfile: true },
      }),
      deps.db.chargerRegistration.findMany({ where: { chargePointId: { in: ids } } }),
    ]);
    const registrationOf = new Map(registrations.map((r) => [r.chargePointId, r]));
    const pointOf = new Map(points.map((p) => [p.serialNumber, p]));
    const online = new Set(sessions.map((s) => s.chargePointId));
    const profileOf = new Map(credentials.map((c) => [c.chargePointId, c.securityProfile]));
    return devices.map((d) => {
      const p = pointOf.get(d.id);
      return {
        chargePointId: d.id,
        name: d.name,
        type: d.type,
        connected: online.has(d.id),
        ocppVersion: p?.ocppVersion ?? null,
        vendor: p?.vendor ?? null,
        model: p?.model ?? null,
        firmwareVersion: p?.firmwareVersion ?? null,
        bootStatus: p?.bootStatus ?? null,
        registration: ((r) =>
          r
            ? {
                status: r.status as "Accepted" | "Rejected",
                decidedBy: r.decidedBy,
                decidedAt: r.decidedAt.toISOString(),
              }
            : null)(registrationOf.get(d.id)),
        status: p?.status ?? "unknown",
        lastHeartbeat: isoOrNull(p?.lastHeartbeat),
        clockSkewMs: p?.clockSkewMs == null ? null : Number(p.clockSkewMs),
        hasPassword: profileOf.has(d.id),
        securityProfile: profileOf.get(d.id) ?? null,
        connectors: (p?.connectors ?? [])
          .toSorted((a, b) => a.connectorId - b.connectorId)
          .map((c) => ({
            connectorId: c.connectorId,
            status: c.status,
            chargingState: c.chargingState,
            ocppStatus: c.ocppStatus,
            errorCode: c.errorCode,
            energyRegisterWh: c.energyRegisterWh,
            limitW: c.limitW,
            lastUpdated: c.lastUpdated.toISOString(),
          })),
      };
    });
  };

  return async (app) => {
    app.get(
      "/v1/orgs/:orgId/chargers",
      {
        schema: {
          summary: "The organization's chargers, connectors and connection state",
          tags: ["chargers"],
          params: OrgParams,
          response: { 200: z.object({ chargers: z.array(ChargerView) }) },
        },
      },
      async (request) => {
        await deps.requireOrgRole(request, request.params.orgId, READERS);
        const devices = await deps.db.chargerDevice.findMany({
          where: { orgId: request.params.orgId },
          select: { id: true },
        });
        return { chargers: await view(devices.map((d) => d.id)) };
      },
    );
    app.get(
      "/v1/orgs/:orgId/chargers/:chargePointId",
      {
        schema: {
          summary: "One charger, its connectors and connection state",
          tags: ["chargers"],
          params: ChargerParams,
          response: { 200: ChargerView },
        },
      },
      async (request) => {
        const { orgId, chargePointId } = request.params;
        await deps.requireOrgRole(request, orgId, READERS);
        await chargerOfOrg(deps.db, orgId, chargePointId);
        const [charger] = await view([chargePointId]);
        return charger!;
      },
    );
  };
}
