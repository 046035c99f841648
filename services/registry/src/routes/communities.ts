import {
  type Community,
  type CommunityAsset,
  type CommunityMember,
  IdSchema,
  topics,
} from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import { badRequest, conflict, type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import type { Db } from "../db.ts";
import {
  AreasSchema,
  AssetDeviceSchema,
  type AssetRelationships,
  AssetRelationshipsSchema,
  AssetTypeSchema,
  assetPropertiesViolation,
  assetsReferencing,
  ContactSchema,
  DeliveryPointsSchema,
  ExtraSchema,
  KeySchema,
  LegalSchema,
  LinksSchema,
  MemberExtraSchema,
  MemberRoleSchema,
  MemberStatusSchema,
  relationshipViolation,
  SettingsSchema,
  TopologySchema,
} from "../domain/community-rules.ts";
import { newId } from "../domain/ids.ts";
import type {
  CommunityAsset as AssetRow,
  Community as CommunityRow,
  CommunityMember as MemberRow,
  Prisma,
} from "../generated/prisma/client.ts";
import { isUniqueViolation, MANAGERS, READERS, type RouteDeps, ruleError, WRITERS } from "./access.ts";

const text = (max = 200) => z.string().trim().min(1).max(max);
const json = z.unknown();

const CommunityFields = z.object({
  name: text(),
  description: text(5000).nullish(),
  areas: AreasSchema.optional(),
  topology: TopologySchema.optional(),
  legal: LegalSchema.optional(),
  links: LinksSchema.optional(),
  contact: ContactSchema.optional(),
  settings: SettingsSchema.optional(),
  extra: ExtraSchema.optional(),
});
const CommunityCreate = CommunityFields.extend({ key: KeySchema });
const CommunityPatch = CommunityFields.partial();
const CommunityView = z.object({
  id: z.string(),
  orgId: z.string(),
  key: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  areas: json,
  topology: json,
  legal: json,
  links: json,
  contact: json,
  settings: json,
  extra: json,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const MemberFields = z.object({
  identityId: IdSchema.nullish(),
  name: text(),
  role: MemberRoleSchema,
  area: KeySchema.nullish(),
  status: MemberStatusSchema.optional(),
  deliveryPoints: DeliveryPointsSchema.optional(),
  extra: MemberExtraSchema.optional(),
});
const MemberCreate = MemberFields.extend({ key: KeySchema });
const MemberPatch = MemberFields.partial();
const MemberView = z.object({
  key: z.string(),
  communityKey: z.string(),
  identityId: z.string().nullable(),
  name: z.string(),
  role: MemberRoleSchema,
  area: z.string().nullable(),
  status: MemberStatusSchema,
  deliveryPoints: json,
  extra: json,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const AssetFields = z.object({
  assetType: AssetTypeSchema,
  name: text(),
  sensorId: text().nullish(),
  ownerMemberKey: KeySchema,
  /** Checked against the asset type (see ASSET_PROPERTIES). */
  properties: z.record(z.string().max(100), z.unknown()).optional(),
  device: AssetDeviceSchema.optional(),
  relationships: AssetRelationshipsSchema.optional(),
  extra: ExtraSchema.optional(),
});
const AssetCreate = AssetFields.extend({ key: KeySchema });
const AssetPatch = AssetFields.partial();
const AssetView = z.object({
  key: z.string(),
  communityKey: z.string(),
  assetType: AssetTypeSchema,
  name: z.string(),
  sensorId: z.string().nullable(),
  ownerMemberKey: z.string(),
  properties: json,
  device: json,
  relationships: json,
  extra: json,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const OrgParams = z.object({ orgId: IdSchema });
const CommunityParams = OrgParams.extend({ key: IdSchema });
const MemberParams = CommunityParams.extend({ memberKey: IdSchema });
const AssetParams = CommunityParams.extend({ assetKey: IdSchema });
const AssetQuery = z.object({
  assetType: AssetTypeSchema.optional(),
  ownerMemberKey: IdSchema.optional(),
});

function communityView(row: CommunityRow): z.infer<typeof CommunityView> {
  const { createdAt, updatedAt, ...rest } = row;
  return { ...rest, createdAt: createdAt.toISOString(), updatedAt: updatedAt.toISOString() };
}

function memberView(row: MemberRow, communityKey: string): z.infer<typeof MemberView> {
  return {
    key: row.key,
    communityKey,
    identityId: row.identityId,
    name: row.name,
    role: MemberRoleSchema.parse(row.role),
    area: row.area,
    status: MemberStatusSchema.parse(row.status),
    deliveryPoints: row.deliveryPoints,
    extra: row.extra,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function assetView(row: AssetRow, communityKey: string): z.infer<typeof AssetView> {
  return {
    key: row.key,
    communityKey,
    assetType: AssetTypeSchema.parse(row.assetType),
    name: row.name,
    sensorId: row.sensorId,
    ownerMemberKey: row.ownerMemberKey,
    properties: row.properties,
    device: row.device,
    relationships: row.relationships,
    extra: row.extra,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const communityPayload = (row: CommunityRow): Community => ({
  communityId: row.id,
  key: row.key,
  name: row.name,
  description: row.description,
  orgId: row.orgId,
});

const memberPayload = (row: MemberRow): CommunityMember => ({
  communityId: row.communityId,
  memberKey: row.key,
  identityId: row.identityId,
  name: row.name,
  role: MemberRoleSchema.parse(row.role),
  status: MemberStatusSchema.parse(row.status),
});

const assetPayload = (row: AssetRow): CommunityAsset => ({
  communityId: row.communityId,
  assetKey: row.key,
  ownerMemberKey: row.ownerMemberKey,
  assetType: AssetTypeSchema.parse(row.assetType),
  name: row.name,
  deviceId: null,
});

/** The columns a body sets; absent fields stay as they are. */
function defined<T extends Record<string, unknown>>(body: T): Partial<T> {
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)) as Partial<T>;
}

const relationshipsOf = (row: AssetRow) => AssetRelationshipsSchema.parse(row.relationships);

async function unique<T>(code: string, message: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw isUniqueViolation(error) ? conflict(code, message) : error;
  }
}

export function communityRoutes(opts: RouteDeps): FastifyPluginAsyncZod {
  const { db, requireOrgRole, published } = opts;
  type Tx = Prisma.TransactionClient | Db;

  async function findCommunity(tx: Tx, orgId: string, key: string) {
    const community = await tx.community.findUnique({ where: { orgId_key: { orgId, key } } });
    if (!community) throw notFound("community");
    return community;
  }

  async function findMember(tx: Tx, communityId: string, key: string) {
    const member = await tx.communityMember.findUnique({ where: { communityId_key: { communityId, key } } });
    if (!member) throw notFound("member");
    return member;
  }

  async function findAsset(tx: Tx, communityId: string, key: string) {
    const asset = await tx.communityAsset.findUnique({ where: { communityId_key: { communityId, key } } });
    if (!asset) throw notFound("asset");
    return asset;
  }

  /** The member's identity must exist and its area must be one of the community's areas. */
  async function checkMember(
    tx: Tx,
    community: CommunityRow,
    member: { identityId?: string | null | undefined; area?: string | null | undefined },
  ) {
    if (member.identityId) {
      const identity = await tx.identity.findUnique({
        where: { id: member.identityId },
        select: { id: true },
      });
      if (!identity) {
        throw badRequest("unknown_identity", `identityId: no identity ${member.identityId}`, {
          field: "identityId",
        });
      }
    }
    if (member.area) {
      const areas = AreasSchema.safeParse(community.areas);
      if (!areas.success || !(member.area in areas.data)) {
        throw badRequest("unknown_area", `area: the community has no area ${member.area}`, { field: "area" });
      }
    }
  }

  /** An asset's owner, properties and relationships, checked against its community. */
  async function checkAsset(
    tx: Tx,
    communityId: string,
    asset: {
      key: string;
      assetType: z.infer<typeof AssetTypeSchema>;
      ownerMemberKey: string;
      properties: unknown;
      relationships: AssetRelationships;
    },
  ) {
    const propertyViolation = assetPropertiesViolation(asset.assetType, asset.properties);
    if (propertyViolation) throw ruleError(propertyViolation);
    const owner = await tx.communityMember.findUnique({
      where: { communityId_key: { communityId, key: asset.ownerMemberKey } },
      select: { key: true },
    });
    if (!owner) {
      throw badRequest(
        "unknown_member",
        `ownerMemberKey: no member ${asset.ownerMemberKey} in this community`,
        {
          field: "ownerMemberKey",
        },
      );
    }
    const named = [...(asset.relationships.measures ?? []), ...(asset.relationships.pairedWith ?? [])];
    if (named.length > 0) {
      const found = await tx.communityAsset.findMany({
        where: { communityId, key: { in: named } },
        select: { key: true },
      });
      const violation = relationshipViolation(
        asset.key,
        asset.relationships,
        new Set(found.map((a) => a.key)),
      );
      if (violation) throw ruleError(violation);
    }
  }

  return async (app) => {
    // --- communities ---

    app.post(
      "/organizations/:orgId/communities",
      {
        schema: {
          summary: "Create an energy community (owner, admin, operator)",
          description:
            "key is unique in the organization (409 community_key_in_use). The JSON fields (areas, topology, " +
            "legal, links, contact, settings, extra) are checked against their described shape and returned as given.",
          tags: ["communities"],
          params: OrgParams,
          body: CommunityCreate,
          response: { 201: CommunityView },
        },
      },
      async (request, reply) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const body = request.body;
        const id = newId("cmy");
        const community = await unique("community_key_in_use", `key: ${body.key} is already used`, () =>
          db.$transaction(async (tx) => {
            const created = await tx.community.create({
              data: { ...(defined(body) as Prisma.CommunityUncheckedCreateInput), id, orgId },
            });
            await enqueueEvent(tx, topics.registryCommunity, "community.created", communityPayload(created), {
              correlationId: request.id,
            });
            return created;
          }),
        );
        published();
        return reply.status(201).send(communityView(community));
      },
    );

    app.get(
      "/organizations/:orgId/communities",
      {
        schema: {
          summary: "The organization's communities (any member)",
          tags: ["communities"],
          params: OrgParams,
          response: { 200: z.object({ items: z.array(CommunityView) }) },
        },
      },
      async (request) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const rows = await db.community.findMany({ where: { orgId }, orderBy: { createdAt: "asc" } });
        return { items: rows.map(communityView) };
      },
    );

    app.get(
      "/organizations/:orgId/communities/:key",
      {
        schema: {
          summary: "One community (any member)",
          tags: ["communities"],
          params: CommunityParams,
          response: { 200: CommunityView },
        },
      },
      async (request) => {
        const { orgId, key } = request.params;
        await requireOrgRole(request, orgId, READERS);
        return communityView(await findCommunity(db, orgId, key));
      },
    );

    app.patch(
      "/organizations/:orgId/communities/:key",
      {
        schema: {
          summary: "Change a community (owner, admin, operator); a JSON field given replaces the stored one",
          tags: ["communities"],
          params: CommunityParams,
          body: CommunityPatch,
          response: { 200: CommunityView },
        },
      },
      async (request) => {
        const { orgId, key } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const data = defined(request.body) as Prisma.CommunityUncheckedUpdateInput;
        const community = await db.$transaction(async (tx) => {
          const current = await findCommunity(tx, orgId, key);
          const changed = await tx.community.update({ where: { id: current.id }, data });
          if (Object.keys(data).length > 0) {
            await enqueueEvent(tx, topics.registryCommunity, "community.updated", communityPayload(changed), {
              correlationId: request.id,
            });
          }
          return changed;
        });
        published();
        return communityView(community);
      },
    );

    app.delete(
      "/organizations/:orgId/communities/:key",
      {
        schema: {
          summary: "Delete a community with its members and assets (owner, admin)",
          tags: ["communities"],
          params: CommunityParams,
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        const { orgId, key } = request.params;
        await requireOrgRole(request, orgId, MANAGERS);
        await db.$transaction(async (tx) => {
          const current = await findCommunity(tx, orgId, key);
          await tx.communityAsset.deleteMany({ where: { communityId: current.id } });
          await tx.community.delete({ where: { id: current.id } });
          await enqueueEvent(
            tx,
            topics.registryCommunity,
            "community.deleted",
            { communityId: current.id },
            { correlationId: request.id },
          );
        });
        published();
        return reply.status(204).send(null);
      },
    );

    // --- members ---

    app.post(
      "/organizations/:orgId/communities/:key/members",
      {
        schema: {
          summary: "Add a member to a community (owner, admin, operator)",
          description:
            "key is unique in the community (409 member_key_in_use); identityId must be a known identity and " +
            "area a key of the community's areas (400 naming the field). status defaults to pending.",
          tags: ["communities"],
          params: CommunityParams,
          body: MemberCreate,
          response: { 201: MemberView },
        },
      },
      async (request, reply) => {
        const { orgId, key } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const body = request.body;
        const community = await findCommunity(db, orgId, key);
        await checkMember(db, community, body);
        const member = await unique("member_key_in_use", `key: member ${body.key} already exists`, () =>
          db.$transaction(async (tx) => {
            const created = await tx.communityMember.create({
              data: {
                ...(defined(body) as Prisma.CommunityMemberUncheckedCreateInput),
                communityId: community.id,
              },
            });
            await enqueueEvent(tx, topics.registryCommunity, "member.added", memberPayload(created), {
              correlationId: request.id,
            });
            return created;
          }),
        );
        published();
        return reply.status(201).send(memberView(member, community.key));
      },
    );

    app.get(
      "/organizations/:orgId/communities/:key/members",
      {
        schema: {
          summary: "A community's members (any member of the organization)",
          tags: ["communities"],
          params: CommunityParams,
          response: { 200: z.object({ items: z.array(MemberView) }) },
        },
      },
      async (request) => {
        const { orgId, key } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const community = await findCommunity(db, orgId, key);
        const rows = await db.communityMember.findMany({
          where: { communityId: community.id },
          orderBy: { createdAt: "asc" },
        });
        return { items: rows.map((row) => memberView(row, community.key)) };
      },
    );

    app.get(
      "/organizations/:orgId/communities/:key/members/:memberKey",
      {
        schema: {
          summary: "One community member",
          tags: ["communities"],
          params: MemberParams,
          response: { 200: MemberView },
        },
      },
      async (request) => {
        const { orgId, key, memberKey } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const community = await findCommunity(db, orgId, key);
        return memberView(await findMember(db, community.id, memberKey), community.key);
      },
    );

    app.patch(
      "/organizations/:orgId/communities/:key/members/:memberKey",
      {
        schema: {
          summary: "Change a community member (owner, admin, operator)",
          tags: ["communities"],
          params: MemberParams,
          body: MemberPatch,
          response: { 200: MemberView },
        },
      },
      async (request) => {
        const { orgId, key, memberKey } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const community = await findCommunity(db, orgId, key);
        await checkMember(db, community, request.body);
        const data = defined(request.body) as Prisma.CommunityMemberUncheckedUpdateInput;
        const member = await db.$transaction(async (tx) => {
          await findMember(tx, community.id, memberKey);
          const changed = await tx.communityMember.update({
            where: { communityId_key: { communityId: community.id, key: memberKey } },
            data,
          });
          if (Object.keys(data).length > 0) {
            await enqueueEvent(tx, topics.registryCommunity, "member.updated", memberPayload(changed), {
              correlationId: request.id,
            });
          }
          return changed;
        });
        published();
        return memberView(member, community.key);
      },
    );

    app.delete(
      "/organizations/:orgId/communities/:key/members/:memberKey",
      {
        schema: {
          summary: "Remove a member who owns no assets (owner, admin, operator)",
          description: "A member who still owns assets is 409 member_has_assets naming them.",
          tags: ["communities"],
          params: MemberParams,
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        const { orgId, key, memberKey } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const community = await findCommunity(db, orgId, key);
        await db.$transaction(async (tx) => {
          await findMember(tx, community.id, memberKey);
          const owned = await tx.communityAsset.findMany({
            where: { communityId: community.id, ownerMemberKey: memberKey },
            select: { key: true },
          });
          if (owned.length > 0) {
            throw conflict(
              "member_has_assets",
              `member ${memberKey} still owns assets: ${owned.map((a) => a.key).join(", ")}`,
            );
          }
          await tx.communityMember.delete({
            where: { communityId_key: { communityId: community.id, key: memberKey } },
          });
          await enqueueEvent(
            tx,
            topics.registryCommunity,
            "member.removed",
            { communityId: community.id, memberKey },
            { correlationId: request.id },
          );
        });
        published();
        return reply.status(204).send(null);
      },
    );

    // --- assets ---

    app.post(
      "/organizations/:orgId/communities/:key/assets",
      {
        schema: {
          summary: "Add an asset to a community (owner, admin, operator)",
          description:
            "properties are checked per assetType (400 invalid_asset_properties naming the property); " +
            "ownerMemberKey must be a member of the community and relationships name its other assets " +
            "(400 naming the key). key is unique in the community (409 asset_key_in_use).",
          tags: ["communities"],
          params: CommunityParams,
          body: AssetCreate,
          response: { 201: AssetView },
        },
      },
      async (request, reply) => {
        const { orgId, key } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const body = request.body;
        const community = await findCommunity(db, orgId, key);
        const asset = await unique("asset_key_in_use", `key: asset ${body.key} already exists`, () =>
          db.$transaction(async (tx) => {
            await checkAsset(tx, community.id, {
              key: body.key,
              assetType: body.assetType,
              ownerMemberKey: body.ownerMemberKey,
              properties: body.properties ?? {},
              relationships: body.relationships ?? {},
            });
            const created = await tx.communityAsset.create({
              data: {
                ...(defined(body) as Prisma.CommunityAssetUncheckedCreateInput),
                communityId: community.id,
              },
            });
            await enqueueEvent(tx, topics.registryCommunity, "asset.added", assetPayload(created), {
              correlationId: request.id,
            });
            return created;
          }),
        );
        published();
        return reply.status(201).send(assetView(asset, community.key));
      },
    );

    app.get(
      "/organizations/:orgId/communities/:key/assets",
      {
        schema: {
          summary: "A community's assets, by type or owner (any member of the organization)",
          tags: ["communities"],
          params: CommunityParams,
          querystring: AssetQuery,
          response: { 200: z.object({ items: z.array(AssetView) }) },
        },
      },
      async (request) => {
        const { orgId, key } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const community = await findCommunity(db, orgId, key);
        const rows = await db.communityAsset.findMany({
          where: { communityId: community.id, ...defined(request.query) },
          orderBy: { createdAt: "asc" },
        });
        return { items: rows.map((row) => assetView(row, community.key)) };
      },
    );

    app.get(
      "/organizations/:orgId/communities/:key/assets/:assetKey",
      {
        schema: {
          summary: "One community asset",
          tags: ["communities"],
          params: AssetParams,
          response: { 200: AssetView },
        },
      },
      async (request) => {
        const { orgId, key, assetKey } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const community = await findCommunity(db, orgId, key);
        return assetView(await findAsset(db, community.id, assetKey), community.key);
      },
    );

    app.patch(
      "/organizations/:orgId/communities/:key/assets/:assetKey",
      {
        schema: {
          summary: "Change a community asset (owner, admin, operator)",
          description: "The resulting type, properties, owner and relationships are checked as on create.",
          tags: ["communities"],
          params: AssetParams,
          body: AssetPatch,
          response: { 200: AssetView },
        },
      },
      async (request) => {
        const { orgId, key, assetKey } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const body = request.body;
        const community = await findCommunity(db, orgId, key);
        const data = defined(body) as Prisma.CommunityAssetUncheckedUpdateInput;
        const asset = await db.$transaction(async (tx) => {
          const current = await findAsset(tx, community.id, assetKey);
          await checkAsset(tx, community.id, {
            key: assetKey,
            assetType: body.assetType ?? AssetTypeSchema.parse(current.assetType),
            ownerMemberKey: body.ownerMemberKey ?? current.ownerMemberKey,
            properties: body.properties ?? current.properties,
            relationships: body.relationships ?? relationshipsOf(current),
          });
          const changed = await tx.communityAsset.update({
            where: { communityId_key: { communityId: community.id, key: assetKey } },
            data,
          });
          if (Object.keys(data).length > 0) {
            await enqueueEvent(tx, topics.registryCommunity, "asset.updated", assetPayload(changed), {
              correlationId: request.id,
            });
          }
          return changed;
        });
        published();
        return assetView(asset, community.key);
      },
    );

    app.delete(
      "/organizations/:orgId/communities/:key/assets/:assetKey",
      {
        schema: {
          summary: "Remove an asset no other asset relates to (owner, admin, operator)",
          description:
            "An asset named in another asset's relationships is 409 asset_referenced naming that asset.",
          tags: ["communities"],
          params: AssetParams,
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        const { orgId, key, assetKey } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const community = await findCommunity(db, orgId, key);
        await db.$transaction(async (tx) => {
          await findAsset(tx, community.id, assetKey);
          const others = await tx.communityAsset.findMany({ where: { communityId: community.id } });
          const referencing = assetsReferencing(
            assetKey,
            others.map((row) => ({ key: row.key, relationships: relationshipsOf(row) })),
          );
          if (referencing.length > 0) {
            throw conflict(
              "asset_referenced",
              `asset ${assetKey} is named in the relationships of: ${referencing.join(", ")}`,
            );
          }
          await tx.communityAsset.delete({
            where: { communityId_key: { communityId: community.id, key: assetKey } },
          });
          await enqueueEvent(
            tx,
            topics.registryCommunity,
            "asset.removed",
            { communityId: community.id, assetKey },
            { correlationId: request.id },
          );
        });
        published();
        return reply.status(204).send(null);
      },
    );
  };
}
