import { type CommunityAsset, CommunityAssetTypeSchema, IdSchema, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import { conflict, type FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import {
  CommunityParams,
  checkAsset,
  defined,
  findAsset,
  findCommunity,
  json,
  text,
  unique,
} from "../communities/lookups.ts";
import {
  AssetDeviceSchema,
  AssetRelationshipsSchema,
  assetsReferencing,
  ExtraSchema,
  KeySchema,
} from "../domain/community-rules.ts";
import type { CommunityAsset as AssetRow, Prisma } from "../generated/prisma/client.ts";
import { READERS, type RouteDeps, WRITERS } from "./access.ts";

const AssetFields = z.object({
  assetType: CommunityAssetTypeSchema,
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
  assetType: CommunityAssetTypeSchema,
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

const AssetParams = CommunityParams.extend({ assetKey: IdSchema });
const AssetQuery = z.object({
  assetType: CommunityAssetTypeSchema.optional(),
  ownerMemberKey: IdSchema.optional(),
});

function assetView(row: AssetRow, communityKey: string): z.infer<typeof AssetView> {
  return {
    key: row.key,
    communityKey,
    assetType: CommunityAssetTypeSchema.parse(row.assetType),
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

const assetPayload = (row: AssetRow): CommunityAsset => ({
  communityId: row.communityId,
  assetKey: row.key,
  ownerMemberKey: row.ownerMemberKey,
  assetType: CommunityAssetTypeSchema.parse(row.assetType),
  name: row.name,
  deviceId: null,
});

const relationshipsOf = (row: AssetRow) => AssetRelationshipsSchema.parse(row.relationships);

export function communityAssetRoutes(opts: RouteDeps): FastifyPluginAsyncZod {
  const { db, requireOrgRole, published } = opts;

  return async (app) => {
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
            assetType: body.assetType ?? CommunityAssetTypeSchema.parse(current.assetType),
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
