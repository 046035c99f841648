import { IdSchema, MemberRoleSchema, OrganizationKindSchema, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import { conflict, type FastifyPluginAsyncZod, forbidden, notFound } from "@energy/service-kit";
import { z } from "zod";
import { newId } from "../domain/ids.ts";
import { addMemberViolation } from "../domain/roles.ts";
import { addMember, changeRole, removeMember } from "../memberships.ts";
import { isUniqueViolation, MANAGERS, type RouteDeps } from "./access.ts";

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

const MemberBody = z.object({ identityId: IdSchema, role: MemberRoleSchema });
const MemberView = z.object({ orgId: z.string(), identityId: z.string(), role: MemberRoleSchema });
const MemberParams = z.object({ orgId: IdSchema, identityId: IdSchema });

export function organizationRoutes(opts: RouteDeps): FastifyPluginAsyncZod {
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
          await enqueueEvent(
            tx,
            topics.registryOrganization,
            "organization.created",
            { orgId: id, name: created.name, kind: request.body.kind, ownerIdentityId: owner },
            { key: id, correlationId: request.id },
          );
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
          params: z.object({ orgId: IdSchema }),
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

    app.post(
      "/organizations/:orgId/members",
      {
        schema: {
          summary: "Add a member with a role (owner, admin; only an owner adds an owner)",
          tags: ["organizations"],
          params: z.object({ orgId: IdSchema }),
          body: MemberBody,
          response: { 201: MemberView },
        },
      },
      async (request, reply) => {
        const { orgId } = request.params;
        const { identityId, role } = request.body;
        const callerRole = await requireOrgRole(request, orgId, MANAGERS);
        const violation = addMemberViolation(callerRole, role);
        if (violation) throw forbidden(violation);
        const identity = await db.identity.findUnique({ where: { id: identityId } });
        if (!identity || identity.revokedAt) throw notFound("identity");
        const alreadyMember = () =>
          conflict("already_member", "identityId: already a member of the organization");
        try {
          await db.$transaction(async (tx) => {
            if (await tx.membership.findUnique({ where: { orgId_identityId: { orgId, identityId } } })) {
              throw alreadyMember();
            }
            await addMember(tx, { orgId, identityId, role }, request.id);
          });
        } catch (error) {
          throw isUniqueViolation(error) ? alreadyMember() : error;
        }
        published();
        return reply.status(201).send({ orgId, identityId, role });
      },
    );

    app.patch(
      "/organizations/:orgId/members/:identityId",
      {
        schema: {
          summary: "Change a member's role (owner, admin; only an owner grants or takes away owner)",
          description: "The last owner cannot be demoted (409 last_owner).",
          tags: ["organizations"],
          params: MemberParams,
          body: z.object({ role: MemberRoleSchema }),
          response: { 200: MemberView },
        },
      },
      async (request) => {
        const { orgId, identityId } = request.params;
        const { role } = request.body;
        const callerRole = await requireOrgRole(request, orgId, MANAGERS);
        const changed = await db.$transaction((tx) =>
          changeRole(tx, { orgId, identityId, role, callerRole }, request.id),
        );
        if (changed) published();
        return { orgId, identityId, role };
      },
    );

    app.delete(
      "/organizations/:orgId/members/:identityId",
      {
        schema: {
          summary: "Remove a member (owner, admin; only an owner removes an owner)",
          description: "The last owner cannot be removed (409 last_owner).",
          tags: ["organizations"],
          params: MemberParams,
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        const { orgId, identityId } = request.params;
        const callerRole = await requireOrgRole(request, orgId, MANAGERS);
        const removed = await db.$transaction((tx) =>
          removeMember(tx, { orgId, identityId, callerRole }, request.id),
        );
        if (!removed) throw notFound("member");
        published();
        return reply.status(204).send(null);
      },
    );
  };
}
