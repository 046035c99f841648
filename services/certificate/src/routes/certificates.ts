import { IdSchema } from "@energy/contracts";
import { type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import type { Prisma } from "../generated/prisma/client.ts";
import {
  CertificateParams,
  CertificateView,
  certificateView,
  OrgParams,
  READERS,
  type RouteDeps,
} from "./access.ts";

const ListQuery = z.object({
  reservationId: IdSchema.optional(),
  deviceId: IdSchema.optional(),
  status: z.enum(["requested", "issued", "confirmed", "failed"]).optional(),
  from: z.iso.datetime().optional().describe("certificates whose period ends after this"),
  to: z.iso.datetime().optional().describe("certificates whose period starts before this"),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  document: z
    .enum(["true", "false"])
    .default("false")
    .describe("true: each certificate with its document (a month's hourly entries make it large)"),
});

const LogEntry = z.object({ event: z.string(), at: z.iso.datetime(), detail: z.unknown() });

/** A buyer's certificates: by reservation, device and period, with their document, token and transaction. */
export function certificateRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  const { db, requireOrgRole, provider } = deps;
  return async (app) => {
    app.get(
      "/organizations/:orgId/certificates",
      {
        schema: {
          summary: "The buyer organization's certificates, newest period first (any member)",
          tags: ["certificates"],
          params: OrgParams,
          querystring: ListQuery,
          response: { 200: z.object({ certificates: z.array(CertificateView) }) },
        },
      },
      async (request) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const q = request.query;
        const where: Prisma.CertificateWhereInput = {
          buyerOrgId: orgId,
          ...(q.reservationId ? { reservationId: q.reservationId } : {}),
          ...(q.deviceId ? { deviceIds: { has: q.deviceId } } : {}),
          ...(q.status ? { status: q.status } : {}),
          ...(q.from ? { periodEnd: { gt: new Date(q.from) } } : {}),
          ...(q.to ? { periodStart: { lt: new Date(q.to) } } : {}),
        };
        const [rows, head] = await Promise.all([
          db.certificate.findMany({
            where,
            orderBy: [{ periodStart: "desc" }, { id: "asc" }],
            take: q.limit,
          }),
          provider.getBlockNumber(),
        ]);
        const withDocument = q.document === "true";
        return { certificates: rows.map((c) => certificateView(c, { ...deps, head }, withDocument)) };
      },
    );

    app.get(
      "/organizations/:orgId/certificates/:certificateId",
      {
        schema: {
          summary: "One certificate with its document and issuance log (any member)",
          tags: ["certificates"],
          params: CertificateParams,
          response: { 200: CertificateView.extend({ log: z.array(LogEntry) }) },
        },
      },
      async (request) => {
        const { orgId, certificateId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const c = await db.certificate.findFirst({ where: { id: certificateId, buyerOrgId: orgId } });
        if (!c) throw notFound("certificate");
        const [log, head] = await Promise.all([
          db.issuanceLog.findMany({ where: { certificateId }, orderBy: { id: "asc" } }),
          provider.getBlockNumber(),
        ]);
        return {
          ...certificateView(c, { ...deps, head }, true),
          log: log.map((l) => ({ event: l.event, at: l.at.toISOString(), detail: l.detail })),
        };
      },
    );
  };
}
