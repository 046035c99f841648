import { type Community, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import type { FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import {
  CommunityParams,
  defined,
  findCommunity,
  json,
  OrgParams,
  text,
  unique,
} from "../communities/lookups.ts";
import {
  AreasSchema,
  ContactSchema,
  ExtraSchema,
  KeySchema,
  LegalSchema,
  LinksSchema,
  SettingsSchema,
  TopologySchema,
} from "../domain/community-rules.ts";
import { newId } from "../domain/ids.ts";
import type { Community as CommunityRow, Prisma } from "../generated/prisma/client.ts";
import { MANAGERS, READERS, type RouteDeps, WRITERS } from "./access.ts";

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

function communityView(row: CommunityRow): z.infer<typeof CommunityView> {
  const { createdAt, updatedAt, ...rest } = row;
  return { ...rest, createdAt: createdAt.toISOString(), updatedAt: updatedAt.toISOString() };
}

const communityPayload = (row: CommunityRow): Community => ({
  communityId: row.id,
  key: row.key,
  name: row.name,
  description: row.description,
  orgId: row.orgId,
});

export function communityRoutes(opts: RouteDeps): FastifyPluginAsyncZod {
  const { db, requireOrgRole, published } = opts;

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
  };
}
