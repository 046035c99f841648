import { type Der, DerTypeSchema, DeviceTypeSchema, IdSchema, INT32_MAX, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import { type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import { derOnDeviceViolation } from "../domain/device-rules.ts";
import { newId } from "../domain/ids.ts";
import { READERS, type RouteDeps, ruleError, WRITERS } from "./access.ts";

const DerBody = z.object({
  derType: DerTypeSchema,
  name: z.string().trim().min(1).max(200),
  /** W; stored in a 32-bit integer column */
  ratedPowerW: z.int().min(0).max(INT32_MAX).nullish(),
});

const DerView = z.object({
  id: z.string(),
  deviceId: z.string(),
  derType: DerTypeSchema,
  name: z.string(),
  ratedPowerW: z.int().nullable(),
  createdAt: z.iso.datetime(),
});

const DeviceParams = z.object({ orgId: IdSchema, deviceId: IdSchema });
const DerParams = DeviceParams.extend({ derId: IdSchema });

type DerRow = { id: string; deviceId: string; derType: string; name: string; ratedPowerW: number | null };

const view = (der: DerRow & { createdAt: Date }) => ({
  id: der.id,
  deviceId: der.deviceId,
  derType: DerTypeSchema.parse(der.derType),
  name: der.name,
  ratedPowerW: der.ratedPowerW,
  createdAt: der.createdAt.toISOString(),
});

const payload = (der: DerRow, device: { siteId: string; orgId: string }): Der => ({
  derId: der.id,
  deviceId: der.deviceId,
  siteId: device.siteId,
  orgId: device.orgId,
  derType: DerTypeSchema.parse(der.derType),
  name: der.name,
  ratedPowerW: der.ratedPowerW,
});

export function derRoutes(opts: RouteDeps): FastifyPluginAsyncZod {
  const { db, requireOrgRole, published } = opts;

  async function findDevice(orgId: string, deviceId: string) {
    const device = await db.device.findFirst({ where: { id: deviceId, orgId } });
    if (!device) throw notFound("device");
    return device;
  }

  return async (app) => {
    app.post(
      "/organizations/:orgId/devices/:deviceId/ders",
      {
        schema: {
          summary: "Add a DER to a device (owner, admin, operator)",
          description:
            "solar only on an inverter; battery on an inverter or battery; meter on an inverter, battery or " +
            "energy_meter; ev_charger_port on an ev_charger or v2x_charger (400 der_not_allowed_on_device).",
          tags: ["ders"],
          params: DeviceParams,
          body: DerBody,
          response: { 201: DerView },
        },
      },
      async (request, reply) => {
        const { orgId, deviceId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const device = await findDevice(orgId, deviceId);
        const violation = derOnDeviceViolation(request.body.derType, DeviceTypeSchema.parse(device.type));
        if (violation) throw ruleError(violation);
        const der = await db.$transaction(async (tx) => {
          const created = await tx.der.create({
            data: {
              id: newId("der"),
              deviceId,
              derType: request.body.derType,
              name: request.body.name,
              ratedPowerW: request.body.ratedPowerW ?? null,
            },
          });
          await enqueueEvent(tx, topics.registryDer, "der.created", payload(created, device), {
            key: created.id,
            correlationId: request.id,
          });
          return created;
        });
        published();
        return reply.status(201).send(view(der));
      },
    );

    app.get(
      "/organizations/:orgId/devices/:deviceId/ders",
      {
        schema: {
          summary: "The device's DERs (any member)",
          tags: ["ders"],
          params: DeviceParams,
          response: { 200: z.object({ items: z.array(DerView) }) },
        },
      },
      async (request) => {
        const { orgId, deviceId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        await findDevice(orgId, deviceId);
        const ders = await db.der.findMany({ where: { deviceId }, orderBy: { createdAt: "asc" } });
        return { items: ders.map(view) };
      },
    );

    app.delete(
      "/organizations/:orgId/devices/:deviceId/ders/:derId",
      {
        schema: {
          summary: "Remove a DER (owner, admin, operator)",
          tags: ["ders"],
          params: DerParams,
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        const { orgId, deviceId, derId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        await findDevice(orgId, deviceId);
        const der = await db.der.findFirst({ where: { id: derId, deviceId } });
        if (!der) throw notFound("DER");
        await db.$transaction(async (tx) => {
          await tx.der.delete({ where: { id: derId } });
          await enqueueEvent(
            tx,
            topics.registryDer,
            "der.deleted",
            { derId, deviceId, orgId, derType: DerTypeSchema.parse(der.derType) },
            { correlationId: request.id },
          );
        });
        published();
        return reply.status(204).send(null);
      },
    );
  };
}
