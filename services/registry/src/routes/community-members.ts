import {
  type CommunityMember,
  CommunityMemberRoleSchema,
  CommunityMemberStatusSchema,
  IdSchema,
  topics,
} from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import { conflict, type FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import {
  CommunityParams,
  checkMember,
  defined,
  findCommunity,
  findMember,
  json,
  text,
  unique,
} from "../communities/lookups.ts";
import {
  DeliveryPointsSchema,
  KeySchema,
  MemberExtraSchema,
  memberRemovalViolation,
} from "../domain/community-rules.ts";
import type { CommunityMember as MemberRow, Prisma } from "../generated/prisma/client.ts";
import { READERS, type RouteDeps, WRITERS } from "./access.ts";

const MemberFields = z.object({
  identityId: IdSchema.nullish(),
  name: text(),
  role: CommunityMemberRoleSchema,
  area: KeySchema.nullish(),
  status: CommunityMemberStatusSchema.optional(),
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
  role: CommunityMemberRoleSchema,
  area: z.string().nullable(),
  status: CommunityMemberStatusSchema,
  deliveryPoints: json,
  extra: json,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const MemberParams = CommunityParams.extend({ memberKey: IdSchema });
function memberView(row: MemberRow, communityKey: string): z.infer<typeof MemberView> {
  return {
    key: row.key,
    communityKey,
    identityId: row.identityId,
    name: row.name,
    role: CommunityMemberRoleSchema.parse(row.role),
    area: row.area,
    status: CommunityMemberStatusSchema.parse(row.status),
    deliveryPoints: row.deliveryPoints,
    extra: row.extra,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const memberPayload = (row: MemberRow): CommunityMember => ({
  communityId: row.communityId,
  memberKey: row.key,
  identityId: row.identityId,
  name: row.name,
  role: CommunityMemberRoleSchema.parse(row.role),
  status: CommunityMemberStatusSchema.parse(row.status),
});

export function communityMemberRoutes(opts: RouteDeps): FastifyPluginAsyncZod {
  const { db, requireOrgRole, published } = opts;

  return async (app) => {
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
          const violation = memberRemovalViolation(
            memberKey,
            owned.map((a) => a.key),
          );
          if (violation) throw conflict("member_has_assets", violation);
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
  };
}
