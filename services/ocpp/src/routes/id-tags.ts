import { IdSchema } from "@energy/contracts";
import type { FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import { OPERATORS, type RouteDeps } from "./access.ts";

const Params = z.object({ orgId: IdSchema, idTag: z.string().min(1).max(20) });
const Body = z.object({
  status: z.enum(["Accepted", "Blocked"]).default("Accepted"),
  expiresAt: z.iso.datetime({ offset: true }).nullable().default(null),
  parentIdTag: z.string().min(1).max(20).nullable().default(null),
});
const IdTagView = z.object({
  idTag: z.string(),
  status: z.string(),
  expiresAt: z.string().nullable(),
  parentIdTag: z.string().nullable(),
});

/** PUT /v1/orgs/:orgId/id-tags/:idTag: the authorization list of the organization's chargers. */
export function idTagRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.put(
      "/v1/orgs/:orgId/id-tags/:idTag",
      {
        schema: {
          summary: "Add or change an id tag (RFID card, app token) on the organization's list",
          tags: ["id-tags"],
          params: Params,
          body: Body,
          response: { 200: IdTagView },
        },
      },
      async (request) => {
        const { orgId, idTag } = request.params;
        await deps.requireOrgRole(request, orgId, OPERATORS);
        const data = {
          status: request.body.status,
          expiresAt: request.body.expiresAt ? new Date(request.body.expiresAt) : null,
          parentIdTag: request.body.parentIdTag,
        };
        const row = await deps.db.idTag.upsert({
          where: { orgId_idTag: { orgId, idTag } },
          create: { orgId, idTag, ...data },
          update: data,
        });
        return {
          idTag: row.idTag,
          status: row.status,
          expiresAt: row.expiresAt?.toISOString() ?? null,
          parentIdTag: row.parentIdTag,
        };
      },
    );
  };
}
