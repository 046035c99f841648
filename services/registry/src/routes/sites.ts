import { IdSchema, type Site, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import { conflict, type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import { newId } from "../domain/ids.ts";
import { MANAGERS, READERS, type RouteDeps, WRITERS } from "./access.ts";

/** An IANA time zone the runtime knows, e.g. Europe/Stockholm. */
const TimezoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine(
    (zone) => {
      try {
        new Intl.DateTimeFormat("en", { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    },
    { message: "not a known IANA time zone" },
  );

const SiteBody = z.object({
  name: z.string().trim().min(1).max(200),
  address: z.string().trim().min(1).max(500).nullish(),
  timezone: TimezoneSchema,
});
const SitePatch = SiteBody.partial();

const SiteView = z.object({
  id: z.string(),
  orgId: z.string(),
  name: z.string(),
  address: z.string().nullable(),
  timezone: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const OrgParams = z.object({ orgId: IdSchema });
const SiteParams = OrgParams.extend({ siteId: IdSchema });

type SiteRow = { id: string; orgId: string; name: string; address: string | null; timezone: string } & {
  createdAt: Date;
  updatedAt: Date;
};

const view = (site: SiteRow) => ({
  id: site.id,
  orgId: site.orgId,
  name: site.name,
  address: site.address,
  timezone: site.timezone,
  createdAt: site.createdAt.toISOString(),
  updatedAt: site.updatedAt.toISOString(),
});

const payload = (site: SiteRow): Site => ({
  siteId: site.id,
  orgId: site.orgId,
  name: site.name,
  address: site.address,
  timezone: site.timezone,
});

export function siteRoutes(opts: RouteDeps): FastifyPluginAsyncZod {
  const { db, requireOrgRole, published } = opts;

  async function findSite(orgId: string, siteId: string) {
    const site = await db.site.findFirst({ where: { id: siteId, orgId } });
    if (!site) throw notFound("site");
    return site;
  }

  return async (app) => {
    app.post(
      "/organizations/:orgId/sites",
      {
        schema: {
          summary: "Create a site (owner, admin, operator)",
          tags: ["sites"],
          params: OrgParams,
          body: SiteBody,
          response: { 201: SiteView },
        },
      },
      async (request, reply) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const site = await db.$transaction(async (tx) => {
          const created = await tx.site.create({
            data: {
              id: newId("sit"),
              orgId,
              name: request.body.name,
              address: request.body.address ?? null,
              timezone: request.body.timezone,
            },
          });
          await enqueueEvent(tx, topics.registrySite, "site.created", payload(created), {
            key: created.id,
            correlationId: request.id,
          });
          return created;
        });
        published();
        return reply.status(201).send(view(site));
      },
    );

    app.get(
      "/organizations/:orgId/sites",
      {
        schema: {
          summary: "The organization's sites (any member)",
          tags: ["sites"],
          params: OrgParams,
          response: { 200: z.object({ items: z.array(SiteView) }) },
        },
      },
      async (request) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const sites = await db.site.findMany({ where: { orgId }, orderBy: { createdAt: "asc" } });
        return { items: sites.map(view) };
      },
    );

    app.get(
      "/organizations/:orgId/sites/:siteId",
      {
        schema: {
          summary: "One site (any member)",
          tags: ["sites"],
          params: SiteParams,
          response: { 200: SiteView },
        },
      },
      async (request) => {
        const { orgId, siteId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        return view(await findSite(orgId, siteId));
      },
    );

    app.patch(
      "/organizations/:orgId/sites/:siteId",
      {
        schema: {
          summary: "Change a site's name, address or time zone (owner, admin, operator)",
          tags: ["sites"],
          params: SiteParams,
          body: SitePatch,
          response: { 200: SiteView },
        },
      },
      async (request) => {
        const { orgId, siteId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        await findSite(orgId, siteId);
        const { name, address, timezone } = request.body;
        const site = await db.$transaction(async (tx) => {
          const updated = await tx.site.update({
            where: { id: siteId },
            data: { name, timezone, ...(address !== undefined ? { address } : {}) },
          });
          await enqueueEvent(tx, topics.registrySite, "site.updated", payload(updated), {
            correlationId: request.id,
          });
          return updated;
        });
        published();
        return view(site);
      },
    );

    app.delete(
      "/organizations/:orgId/sites/:siteId",
      {
        schema: {
          summary: "Delete a site without devices (owner, admin)",
          description: "A site that still has devices is a 409 site_has_devices: delete or move them first.",
          tags: ["sites"],
          params: SiteParams,
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        const { orgId, siteId } = request.params;
        await requireOrgRole(request, orgId, MANAGERS);
        await findSite(orgId, siteId);
        await db.$transaction(async (tx) => {
          if ((await tx.device.count({ where: { siteId } })) > 0) {
            throw conflict("site_has_devices", "siteId: the site still has devices");
          }
          await tx.site.delete({ where: { id: siteId } });
          await enqueueEvent(
            tx,
            topics.registrySite,
            "site.deleted",
            { siteId, orgId },
            { correlationId: request.id },
          );
        });
        published();
        return reply.status(204).send(null);
      },
    );
  };
}
