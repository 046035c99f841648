import { type DeviceGroup, IdSchema, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import { type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import type { Db } from "../db.ts";
import { DeviceView, deviceView } from "../devices/views.ts";
import { newId } from "../domain/ids.ts";
import { SDG_COUNT, SDG_MAX_MASK, sdgMaskToGoals, sdgToMask } from "../domain/sdg.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { refuseReservedDevices } from "../reserved-devices.ts";
import { READERS, type RouteDeps, WRITERS } from "./access.ts";

const text = (max = 200) => z.string().trim().min(1).max(max);

const GroupFields = z.object({
  name: text(),
  /** A bitmask (bit 0 = SDG 1 … bit 16 = SDG 17) or a list of goal numbers 1..17. */
  sdgBenefits: z
    .union([z.int().min(0).max(SDG_MAX_MASK), z.array(z.int().min(1).max(SDG_COUNT)).max(SDG_COUNT)])
    .optional(),
  impactStory: text(5000).nullish(),
  images: z.array(z.string().trim().min(1).max(2000)).max(50).optional(),
});
const CreateBody = GroupFields.extend({ deviceIds: z.array(IdSchema).max(1000).optional() });
const PatchBody = GroupFields.partial();
const DevicesBody = z.object({ deviceIds: z.array(IdSchema).min(1).max(1000) });

const GroupView = z.object({
  id: z.string(),
  orgId: z.string(),
  name: z.string(),
  sdgBenefits: z.int(),
  sdgGoals: z.array(z.int()),
  impactStory: z.string().nullable(),
  images: z.array(z.string()),
  deviceIds: z.array(z.string()),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const OrgParams = z.object({ orgId: IdSchema });
const GroupParams = OrgParams.extend({ groupId: IdSchema });
const MemberParams = GroupParams.extend({ deviceId: IdSchema });

/** The device attributes a group list or a group's devices are filtered by; all given must hold on one device. */
const DeviceFilter = z
  .object({
    countryCode: z.string().min(1).max(200).optional(),
    fuelCode: z.string().min(1).max(200).optional(),
    deviceTypeCode: z.string().min(1).max(200).optional(),
    offTaker: z.string().min(1).max(200).optional(),
    /** kW */
    minCapacity: z.coerce.number().min(0).optional(),
    /** kW */
    maxCapacity: z.coerce.number().min(0).optional(),
  })
  .refine(
    (q) => q.minCapacity === undefined || q.maxCapacity === undefined || q.minCapacity <= q.maxCapacity,
    {
      message: "must not be less than minCapacity",
      path: ["maxCapacity"],
    },
  );
type DeviceFilter = z.infer<typeof DeviceFilter>;

function deviceWhere(filter: DeviceFilter): Prisma.DeviceWhereInput | null {
  const { minCapacity, maxCapacity, ...codes } = filter;
  const where: Prisma.DeviceWhereInput = {};
  for (const [key, value] of Object.entries(codes)) {
    if (value !== undefined) (where as Record<string, unknown>)[key] = value;
  }
  if (minCapacity !== undefined || maxCapacity !== undefined) {
    where.capacity = {
      ...(minCapacity !== undefined ? { gte: minCapacity } : {}),
      ...(maxCapacity !== undefined ? { lte: maxCapacity } : {}),
    };
  }
  return Object.keys(where).length > 0 ? where : null;
}

const withMembers = { members: { select: { deviceId: true }, orderBy: { addedAt: "asc" } } } as const;
type GroupRow = Prisma.DeviceGroupGetPayload<{ include: typeof withMembers }>;

function groupView(group: GroupRow): z.infer<typeof GroupView> {
  return {
    id: group.id,
    orgId: group.orgId,
    name: group.name,
    sdgBenefits: group.sdgBenefits,
    sdgGoals: sdgMaskToGoals(group.sdgBenefits),
    impactStory: group.impactStory,
    images: group.images,
    deviceIds: group.members.map((m) => m.deviceId),
    createdAt: group.createdAt.toISOString(),
    updatedAt: group.updatedAt.toISOString(),
  };
}

/** The contract's snapshot: the D-REC group fields go into its free metadata. */
function groupPayload(group: GroupRow): DeviceGroup {
  const metadata: Record<string, string> = {
    sdgBenefits: String(group.sdgBenefits),
    sdgGoals: sdgMaskToGoals(group.sdgBenefits).join(","),
  };
  if (group.impactStory !== null) metadata["impactStory"] = group.impactStory;
  if (group.images.length > 0) metadata["images"] = JSON.stringify(group.images);
  return {
    groupId: group.id,
    orgId: group.orgId,
    name: group.name,
    deviceIds: group.members.map((m) => m.deviceId),
    metadata,
  };
}

export function deviceGroupRoutes(opts: RouteDeps): FastifyPluginAsyncZod {
  const { db, requireOrgRole, published } = opts;

  async function findGroup(tx: Prisma.TransactionClient | Db, orgId: string, groupId: string) {
    const group = await tx.deviceGroup.findFirst({ where: { id: groupId, orgId }, include: withMembers });
    if (!group) throw notFound("device group");
    return group;
  }

  /** Every id must be a device of the organization; the first that is not is a 404 naming it. */
  async function requireDevices(tx: Prisma.TransactionClient, orgId: string, deviceIds: readonly string[]) {
    const found = await tx.device.findMany({
      where: { orgId, id: { in: [...deviceIds] } },
      select: { id: true },
    });
    const known = new Set(found.map((d) => d.id));
    const missing = deviceIds.find((id) => !known.has(id));
    if (missing !== undefined) throw notFound(`device ${missing}`);
  }

  async function updated(tx: Prisma.TransactionClient, group: GroupRow, correlationId: string) {
    await enqueueEvent(tx, topics.registryDeviceGroup, "device-group.updated", groupPayload(group), {
      key: group.id,
      correlationId,
    });
  }

  return async (app) => {
    app.post(
      "/organizations/:orgId/device-groups",
      {
        schema: {
          summary:
            "Create a device group, optionally with devices of the organization (owner, admin, operator)",
          description:
            "sdgBenefits is a bitmask (bit 0 = SDG 1) or a list of goal numbers; an unknown device is 404; a device in a buyer's active reservation (or its 12-hour cool-down) is 409 devices_reserved naming it.",
          tags: ["device groups"],
          params: OrgParams,
          body: CreateBody,
          response: { 201: GroupView },
        },
      },
      async (request, reply) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const { deviceIds = [], sdgBenefits, ...fields } = request.body;
        const id = newId("grp");
        const group = await db.$transaction(async (tx) => {
          const unique = [...new Set(deviceIds)];
          await requireDevices(tx, orgId, unique);
          await refuseReservedDevices(tx, unique);
          const created = await tx.deviceGroup.create({
            data: {
              ...fields,
              id,
              orgId,
              sdgBenefits: sdgBenefits === undefined ? 0 : sdgToMask(sdgBenefits),
              members: { create: unique.map((deviceId) => ({ deviceId })) },
            },
            include: withMembers,
          });
          await enqueueEvent(tx, topics.registryDeviceGroup, "device-group.created", groupPayload(created), {
            key: id,
            correlationId: request.id,
          });
          return created;
        });
        published();
        return reply.status(201).send(groupView(group));
      },
    );

    app.get(
      "/organizations/:orgId/device-groups",
      {
        schema: {
          summary: "The organization's device groups, filtered by their devices' attributes (any member)",
          description:
            "A group matches when any one of its devices matches every filter given (capacity in kW, inclusive).",
          tags: ["device groups"],
          params: OrgParams,
          querystring: DeviceFilter,
          response: { 200: z.object({ items: z.array(GroupView) }) },
        },
      },
      async (request) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const device = deviceWhere(request.query);
        const groups = await db.deviceGroup.findMany({
          where: { orgId, ...(device ? { members: { some: { device } } } : {}) },
          include: withMembers,
          orderBy: { createdAt: "asc" },
        });
        return { items: groups.map(groupView) };
      },
    );

    app.get(
      "/organizations/:orgId/device-groups/:groupId",
      {
        schema: {
          summary: "One device group (any member)",
          tags: ["device groups"],
          params: GroupParams,
          response: { 200: GroupView },
        },
      },
      async (request) => {
        const { orgId, groupId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        return groupView(await findGroup(db, orgId, groupId));
      },
    );

    app.get(
      "/organizations/:orgId/device-groups/:groupId/devices",
      {
        schema: {
          summary: "The group's devices, filtered like the group list (any member)",
          tags: ["device groups"],
          params: GroupParams,
          querystring: DeviceFilter,
          response: { 200: z.object({ items: z.array(DeviceView) }) },
        },
      },
      async (request) => {
        const { orgId, groupId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        await findGroup(db, orgId, groupId);
        const devices = await db.device.findMany({
          where: { orgId, groups: { some: { groupId } }, ...deviceWhere(request.query) },
          orderBy: { createdAt: "asc" },
        });
        return { items: devices.map(deviceView) };
      },
    );

    app.patch(
      "/organizations/:orgId/device-groups/:groupId",
      {
        schema: {
          summary:
            "Change a device group's name, SDG benefits, impact story or images (owner, admin, operator)",
          tags: ["device groups"],
          params: GroupParams,
          body: PatchBody,
          response: { 200: GroupView },
        },
      },
      async (request) => {
        const { orgId, groupId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const { sdgBenefits, ...fields } = request.body;
        const data: Prisma.DeviceGroupUpdateInput = {};
        for (const [key, value] of Object.entries(fields)) {
          if (value !== undefined) (data as Record<string, unknown>)[key] = value;
        }
        if (sdgBenefits !== undefined) data.sdgBenefits = sdgToMask(sdgBenefits);
        const group = await db.$transaction(async (tx) => {
          await findGroup(tx, orgId, groupId);
          const changed = await tx.deviceGroup.update({ where: { id: groupId }, data, include: withMembers });
          if (Object.keys(data).length > 0) await updated(tx, changed, request.id);
          return changed;
        });
        published();
        return groupView(group);
      },
    );

    app.delete(
      "/organizations/:orgId/device-groups/:groupId",
      {
        schema: {
          summary: "Delete a device group; its devices stay (owner, admin, operator)",
          description:
            "409 devices_reserved (naming them) while a device of the group is in a buyer's active reservation or its 12-hour cool-down.",
          tags: ["device groups"],
          params: GroupParams,
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        const { orgId, groupId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        await db.$transaction(async (tx) => {
          const group = await findGroup(tx, orgId, groupId);
          await refuseReservedDevices(
            tx,
            group.members.map((m) => m.deviceId),
          );
          await tx.deviceGroup.delete({ where: { id: groupId } });
          await enqueueEvent(
            tx,
            topics.registryDeviceGroup,
            "device-group.deleted",
            { groupId, orgId },
            { correlationId: request.id },
          );
        });
        published();
        return reply.status(204).send(null);
      },
    );

    app.post(
      "/organizations/:orgId/device-groups/:groupId/devices",
      {
        schema: {
          summary: "Add devices of the organization to the group (owner, admin, operator)",
          description:
            "A device of another organization, or none, is 404 naming it; devices already in are kept; a device in a buyer's active reservation (or its 12-hour cool-down) is 409 devices_reserved naming it.",
          tags: ["device groups"],
          params: GroupParams,
          body: DevicesBody,
          response: { 200: GroupView },
        },
      },
      async (request) => {
        const { orgId, groupId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const unique = [...new Set(request.body.deviceIds)];
        const group = await db.$transaction(async (tx) => {
          const before = await findGroup(tx, orgId, groupId);
          await requireDevices(tx, orgId, unique);
          const present = new Set(before.members.map((m) => m.deviceId));
          const fresh = unique.filter((id) => !present.has(id));
          if (fresh.length === 0) return before;
          await refuseReservedDevices(tx, fresh);
          await tx.deviceGroupMember.createMany({ data: fresh.map((deviceId) => ({ groupId, deviceId })) });
          const after = await tx.deviceGroup.update({
            where: { id: groupId },
            data: { updatedAt: new Date() },
            include: withMembers,
          });
          await updated(tx, after, request.id);
          return after;
        });
        published();
        return groupView(group);
      },
    );

    app.delete(
      "/organizations/:orgId/device-groups/:groupId/devices/:deviceId",
      {
        schema: {
          summary: "Remove a device from the group (owner, admin, operator)",
          description:
            "409 devices_reserved while the device is in a buyer's active reservation or its 12-hour cool-down.",
          tags: ["device groups"],
          params: MemberParams,
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        const { orgId, groupId, deviceId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        await db.$transaction(async (tx) => {
          await findGroup(tx, orgId, groupId);
          await refuseReservedDevices(tx, [deviceId]);
          const removed = await tx.deviceGroupMember.deleteMany({ where: { groupId, deviceId } });
          if (removed.count === 0) throw notFound(`device ${deviceId} in this group`);
          const after = await tx.deviceGroup.update({
            where: { id: groupId },
            data: { updatedAt: new Date() },
            include: withMembers,
          });
          await updated(tx, after, request.id);
        });
        published();
        return reply.status(204).send(null);
      },
    );
  };
}
