import { DerTypeSchema, DeviceStateSchema, DeviceTypeSchema, IdSchema, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import { badRequest, conflict, type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { DeviceView, devicePayload, deviceView } from "../devices/views.ts";
import { DrecFieldsSchema, SdgMaskSchema } from "../domain/device-fields.ts";
import { deviceLogChanges } from "../domain/device-log.ts";
import { deviceRuleViolations, utcToday } from "../domain/device-rules.ts";
import { newId } from "../domain/ids.ts";
import { SDG_COUNT, sdgToMask } from "../domain/sdg.ts";
import { requireOwnGateway } from "../gateway-claims.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { isUniqueViolation, MANAGERS, READERS, type RouteDeps, ruleError, WRITERS } from "./access.ts";

const text = (max = 200) => z.string().trim().min(1).max(max);

/** The device fields a client sets (the D-REC registration data as DrecFieldsSchema, absent or null). */
const DeviceFields = z.object({
  name: text(),
  model: text().nullish(),
  commIdentityId: z
    .string()
    .max(128)
    .regex(/^zap-[A-Za-z0-9_-]+$/, "must be a gateway identity id (zap-…)")
    .nullish(),
  ...DrecFieldsSchema.partial().shape,
  yieldValue: z.number().min(0).nullish(),
  /** A bitmask (bit 0 = SDG 1 … bit 16 = SDG 17) or a list of goal numbers 1..17. */
  sdgBenefits: z.union([SdgMaskSchema, z.array(z.int().min(1).max(SDG_COUNT)).max(SDG_COUNT)]).optional(),
  integrator: text().nullish(),
  description: text(5000).nullish(),
});

const CreateBody = DeviceFields.extend({ siteId: IdSchema, type: DeviceTypeSchema });
const PatchBody = DeviceFields.partial().extend({
  siteId: IdSchema.optional(),
  state: DeviceStateSchema.optional(),
});

const LogView = z.object({
  field: z.enum(["capacity", "commissioningDate"]),
  oldValue: z.string().nullable(),
  newValue: z.string().nullable(),
  changedAt: z.iso.datetime(),
  changedBy: z.string(),
});

const OrgParams = z.object({ orgId: IdSchema });
const DeviceParams = OrgParams.extend({ deviceId: IdSchema });
const ListQuery = z.object({
  siteId: IdSchema.optional(),
  type: DeviceTypeSchema.optional(),
  state: DeviceStateSchema.optional(),
  countryCode: z.string().min(1).max(200).optional(),
  fuelCode: z.string().min(1).max(200).optional(),
});

const isoDate = (date: Date | null) => (date ? date.toISOString().slice(0, 10) : null);
const toDate = (date: string) => new Date(`${date}T00:00:00.000Z`);

type Fields = z.infer<typeof PatchBody>;

/** The columns a create or patch body sets; absent fields stay as they are. */
function columns(body: Fields): Prisma.DeviceUncheckedUpdateInput {
  const data: Prisma.DeviceUncheckedUpdateInput = {};
  const { commissioningDate, sdgBenefits, state: _state, ...rest } = body;
  for (const [key, value] of Object.entries(rest)) {
    if (value !== undefined) (data as Record<string, unknown>)[key] = value;
  }
  if (commissioningDate !== undefined) {
    data.commissioningDate = commissioningDate === null ? null : toDate(commissioningDate);
  }
  if (sdgBenefits !== undefined) data.sdgBenefits = sdgToMask(sdgBenefits);
  return data;
}

const externalIdInUse = () => conflict("external_id_in_use", "externalId: already used in this organization");

export function deviceRoutes(opts: RouteDeps): FastifyPluginAsyncZod {
  const { db, requireOrgRole, published } = opts;

  async function findDevice(orgId: string, deviceId: string) {
    const device = await db.device.findFirst({ where: { id: deviceId, orgId } });
    if (!device) throw notFound("device");
    return device;
  }

  async function requireSite(orgId: string, siteId: string) {
    const site = await db.site.findFirst({ where: { id: siteId, orgId }, select: { id: true } });
    if (!site)
      throw badRequest("unknown_site", "siteId: no such site in this organization", { field: "siteId" });
  }

  function checkRules(device: {
    energyStorage: boolean;
    energyStorageCapacity: number | null;
    commissioningDate: string | null;
  }) {
    const [violation] = deviceRuleViolations(device, utcToday());
    if (violation) throw ruleError(violation);
  }

  async function withUniqueExternalId<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw isUniqueViolation(error) ? externalIdInUse() : error;
    }
  }

  const changedBy = (request: FastifyRequest) => request.identity.id;

  return async (app) => {
    app.post(
      "/organizations/:orgId/devices",
      {
        schema: {
          summary: "Register a device on a site (owner, admin, operator)",
          description:
            "externalId is unique in the organization (409 external_id_in_use); sdgBenefits is a bitmask " +
            "(bit 0 = SDG 1) or a list of goal numbers; energyStorageCapacity is required when energyStorage.",
          tags: ["devices"],
          params: OrgParams,
          body: CreateBody,
          response: { 201: DeviceView },
        },
      },
      async (request, reply) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const body = request.body;
        checkRules({
          energyStorage: body.energyStorage ?? false,
          energyStorageCapacity: body.energyStorageCapacity ?? null,
          commissioningDate: body.commissioningDate ?? null,
        });
        await requireSite(orgId, body.siteId);
        const id = newId("dev");
        const device = await withUniqueExternalId(() =>
          db.$transaction(async (tx) => {
            if (
              body.externalId &&
              (await tx.device.findFirst({ where: { orgId, externalId: body.externalId } }))
            ) {
              throw externalIdInUse();
            }
            if (body.commIdentityId) await requireOwnGateway(tx, orgId, body.commIdentityId);
            const created = await tx.device.create({
              data: { ...(columns(body) as Prisma.DeviceUncheckedCreateInput), id, orgId, type: body.type },
            });
            await enqueueEvent(tx, topics.registryDevice, "device.registered", devicePayload(created), {
              key: id,
              correlationId: request.id,
            });
            return created;
          }),
        );
        published();
        return reply.status(201).send(deviceView(device));
      },
    );

    app.get(
      "/organizations/:orgId/devices",
      {
        schema: {
          summary: "The organization's devices, filtered by site, type, state, country or fuel (any member)",
          tags: ["devices"],
          params: OrgParams,
          querystring: ListQuery,
          response: { 200: z.object({ items: z.array(DeviceView) }) },
        },
      },
      async (request) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const devices = await db.device.findMany({
          where: { orgId, ...request.query },
          orderBy: { createdAt: "asc" },
        });
        return { items: devices.map(deviceView) };
      },
    );

    app.get(
      "/organizations/:orgId/devices/:deviceId",
      {
        schema: {
          summary: "One device (any member)",
          tags: ["devices"],
          params: DeviceParams,
          response: { 200: DeviceView },
        },
      },
      async (request) => {
        const { orgId, deviceId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        return deviceView(await findDevice(orgId, deviceId));
      },
    );

    app.patch(
      "/organizations/:orgId/devices/:deviceId",
      {
        schema: {
          summary: "Change a device's fields or state (owner, admin, operator)",
          description:
            "A change of capacity or commissioningDate is written to the device log. A change of state " +
            "publishes device.state_changed; other changes device.updated.",
          tags: ["devices"],
          params: DeviceParams,
          body: PatchBody,
          response: { 200: DeviceView },
        },
      },
      async (request) => {
        const { orgId, deviceId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const body = request.body;
        const before = await findDevice(orgId, deviceId);
        checkRules({
          energyStorage: body.energyStorage ?? before.energyStorage,
          energyStorageCapacity:
            body.energyStorageCapacity !== undefined
              ? body.energyStorageCapacity
              : before.energyStorageCapacity,
          commissioningDate:
            body.commissioningDate !== undefined ? body.commissioningDate : isoDate(before.commissioningDate),
        });
        if (body.siteId !== undefined) await requireSite(orgId, body.siteId);
        const data = columns(body);
        const device = await withUniqueExternalId(() =>
          db.$transaction(async (tx) => {
            const current = await tx.device.findFirst({ where: { id: deviceId, orgId } });
            if (!current) throw notFound("device");
            if (
              body.externalId &&
              (await tx.device.findFirst({
                where: { orgId, externalId: body.externalId, id: { not: deviceId } },
              }))
            ) {
              throw externalIdInUse();
            }
            if (body.commIdentityId) await requireOwnGateway(tx, orgId, body.commIdentityId);
            const updated = await tx.device.update({
              where: { id: deviceId },
              data: { ...data, ...(body.state !== undefined ? { state: body.state } : {}) },
            });
            const logged = deviceLogChanges(current, updated);
            if (logged.length > 0) {
              await tx.deviceLog.createMany({
                data: logged.map((entry) => ({ ...entry, deviceId, changedBy: changedBy(request) })),
              });
            }
            const fieldsChanged = Object.keys(data).length > 0;
            if (fieldsChanged) {
              await enqueueEvent(tx, topics.registryDevice, "device.updated", devicePayload(updated), {
                correlationId: request.id,
              });
            }
            if (current.state !== updated.state) {
              await enqueueEvent(
                tx,
                topics.registryDevice,
                "device.state_changed",
                {
                  deviceId,
                  orgId,
                  from: DeviceStateSchema.parse(current.state),
                  to: DeviceStateSchema.parse(updated.state),
                  reason: null,
                },
                { correlationId: request.id },
              );
            }
            return updated;
          }),
        );
        published();
        return deviceView(device);
      },
    );

    app.delete(
      "/organizations/:orgId/devices/:deviceId",
      {
        schema: {
          summary: "Delete a device and its DERs (owner, admin)",
          tags: ["devices"],
          params: DeviceParams,
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        const { orgId, deviceId } = request.params;
        await requireOrgRole(request, orgId, MANAGERS);
        const device = await findDevice(orgId, deviceId);
        await db.$transaction(async (tx) => {
          const ders = await tx.der.findMany({ where: { deviceId } });
          await tx.device.delete({ where: { id: deviceId } });
          for (const der of ders) {
            await enqueueEvent(
              tx,
              topics.registryDer,
              "der.deleted",
              { derId: der.id, deviceId, orgId, derType: DerTypeSchema.parse(der.derType) },
              { key: der.id, correlationId: request.id },
            );
          }
          await enqueueEvent(
            tx,
            topics.registryDevice,
            "device.deleted",
            { deviceId, orgId },
            { key: device.id, correlationId: request.id },
          );
        });
        published();
        return reply.status(204).send(null);
      },
    );

    app.get(
      "/organizations/:orgId/devices/:deviceId/log",
      {
        schema: {
          summary: "The device's changes of capacity and commissioning date, oldest first (any member)",
          tags: ["devices"],
          params: DeviceParams,
          response: { 200: z.object({ items: z.array(LogView) }) },
        },
      },
      async (request) => {
        const { orgId, deviceId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        await findDevice(orgId, deviceId);
        const rows = await db.deviceLog.findMany({ where: { deviceId }, orderBy: { id: "asc" } });
        return {
          items: rows.map((row) => ({
            field: LogView.shape.field.parse(row.field),
            oldValue: row.oldValue,
            newValue: row.newValue,
            changedAt: row.changedAt.toISOString(),
            changedBy: row.changedBy,
          })),
        };
      },
    );
  };
}
