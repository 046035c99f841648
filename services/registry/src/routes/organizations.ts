import { MemberRoleSchema, OrganizationKindSchema } from "@energy/contracts";
import { type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import type { OrgGuard } from "../app.ts";
import type { Db } from "../db.ts";
import { newId } from "../domain/ids.ts";
import { recordEvent } from "../events.ts";

const OrganizationBody = z.object({
  name: z.string().trim().min(1).max(200),
  kind: OrganizationKindSchema,
});

const OrganizationView = z.object({
  id: z.string(),
  name: z.string(),
  kind: OrganizationKindSchema,
  role: MemberRoleSchema,
  createdAt: z.iso.datetime(),
});

const ANY_MEMBER = ["owner", "admin", "operator", "viewer"] as const;

export function organizationRoutes(opts: {
  db: Db;
  requireOrgRole: OrgGuard;
  published: () => void;
}): FastifyPluginAsyncZod {
  const { db, requireOrgRole, published } = opts;
  return async (app) => {
    app.post(
      "/organizations",
      {
        schema: {
          summary: "Create an organization; the caller becomes its owner",
          tags: ["organizations"],
          body: OrganizationBody,
          response: { 201: OrganizationView },
        },
      },
      async (request, reply) => {
        const id = newId("org");
        const owner = request.identity.id;
        const org = await db.$transaction(async (tx) => {
          const created = await tx.organization.create({
            data: { id, name: request.body.name, kind: request.body.kind, createdBy: owner },
          });
          await tx.membership.create({ data: { orgId: id, identityId: owner, role: "owner" } });
          await recordEvent(tx, {
            topic: "registry.organization.v1",
            key: id,
            type: "organization.created",
            payload: { orgId: id, name: created.name, kind: request.body.kind, ownerIdentityId: owner },
            envelope: { correlationId: request.id },
          });
          return created;
        });
        published();
        return reply.status(201).send({
          id: org.id,
          name: org.name,
          kind: request.body.kind,
          role: "owner",
          createdAt: org.createdAt.toISOString(),
        });
      },
    );

    app.get(
      "/organizations/:orgId",
      {
        schema: {
          summary: "An organization the caller is a member of",
          tags: ["organizations"],
          params: z.object({ orgId: z.string() }),
          response: { 200: OrganizationView },
        },
      },
      async (request) => {
        const role = await requireOrgRole(request, request.params.orgId, ANY_MEMBER);
        const org = await db.organization.findUnique({ where: { id: request.params.orgId } });
        if (!org) throw notFound("organization");
        return {
          id: org.id,
          name: org.name,
          kind: OrganizationKindSchema.parse(org.kind),
          role,
          createdAt: org.createdAt.toISOString(),
        };
      },
    );
  };
}
