import { createHash } from "node:crypto";
import { DeviceTypeSchema, IdSchema, INT32_MAX } from "@energy/contracts";
import { badRequest, type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import type { OrgGuard } from "../app.ts";
import type { Db } from "../db.ts";
import { CsvError, readHeader } from "../imports/csv.ts";
import { checkHeader, storableCsv } from "../imports/rows.ts";
import { type ImportOptions, type ImportWorker, newImportJobId } from "../imports/worker.ts";
import { isUniqueViolation, READERS, WRITERS } from "./access.ts";

/** The largest CSV accepted (100,000 D-REC rows are about 20 MiB). */
export const IMPORT_BODY_LIMIT = 50 * 1024 * 1024;

const OrgParams = z.object({ orgId: IdSchema });
const JobParams = OrgParams.extend({ jobId: IdSchema });
const UploadQuery = z.object({
  siteId: IdSchema,
  deviceType: DeviceTypeSchema,
  /** where the report is mailed when the job is done */
  notify: z.email().max(254).optional(),
  fileName: z.string().trim().min(1).max(255).optional(),
});
const RowsQuery = z.object({
  outcome: z.enum(["created", "updated", "unchanged", "refused"]).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** the last line of the previous page */
  cursor: z.coerce.number().int().min(0).max(INT32_MAX).optional(),
});

/** totalRows: null until the worker has read the whole file (GET the job to follow it). */
const Accepted = z.object({ jobId: z.string(), status: z.string(), totalRows: z.int().nullable() });
const JobView = z.object({
  jobId: z.string(),
  orgId: z.string(),
  status: z.enum(["queued", "running", "done", "failed"]),
  fileName: z.string().nullable(),
  fileSha256: z.string(),
  totalRows: z.int().nullable(),
  doneRows: z.int(),
  createdRows: z.int(),
  updatedRows: z.int(),
  refusedRows: z.int(),
  error: z.string().nullable(),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
});
const RowView = z.object({
  line: z.int(),
  externalId: z.string().nullable(),
  outcome: z.string(),
  reason: z.string().nullable(),
  deviceId: z.string().nullable(),
});

export function importRoutes(opts: {
  db: Db;
  requireOrgRole: OrgGuard;
  worker: ImportWorker;
}): FastifyPluginAsyncZod {
  const { db, requireOrgRole, worker } = opts;

  async function findJob(orgId: string, jobId: string) {
    const job = await db.importJob.findFirst({ where: { id: jobId, orgId }, omit: { content: true } });
    if (!job) throw notFound("import job");
    return job;
  }

  return async (app) => {
    // the CSV arrives as the raw body (this plugin only)
    app.addContentTypeParser(
      "text/csv",
      { parseAs: "string", bodyLimit: IMPORT_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );

    app.post(
      "/organizations/:orgId/imports",
      {
        bodyLimit: IMPORT_BODY_LIMIT,
        schema: {
          summary: "Upload a D-REC bulk device CSV (owner, admin, operator)",
          description:
            "Body: the CSV itself, content-type text/csv, comma or pipe delimited, with the D-REC header. " +
            "Answers 202 at once, having read only the header; a background job reads the file as a stream, " +
            "counts its rows (totalRows is null until then) and imports them (upsert by externalId). A CSV " +
            "syntax error found by the job fails it before any row is imported, its error naming the line. " +
            "The same file (sha256) uploaded again answers its existing job with 200. notify: an email for " +
            "the report.",
          tags: ["imports"],
          params: OrgParams,
          querystring: UploadQuery,
          response: { 200: Accepted, 202: Accepted },
        },
      },
      async (request, reply) => {
        const { orgId } = request.params;
        const identity = request.identity;
        await requireOrgRole(request, orgId, WRITERS);
        const { siteId, deviceType, notify, fileName } = request.query;
        const site = await db.site.findFirst({ where: { id: siteId, orgId }, select: { id: true } });
        if (!site) throw notFound("site");
        if (typeof request.body !== "string") {
          throw badRequest("invalid_body", "body: the CSV file as text/csv", { field: "body" });
        }
        const content = storableCsv(request.body);
        const fileSha256 = createHash("sha256").update(content).digest("hex");
        const existing = await db.importJob.findUnique({
          where: { orgId_fileSha256: { orgId, fileSha256 } },
          select: { id: true, status: true, totalRows: true },
        });
        if (existing) {
          return reply
            .status(200)
            .send({ jobId: existing.id, status: existing.status, totalRows: existing.totalRows });
        }
        let csv: Awaited<ReturnType<typeof readHeader>>;
        try {
          csv = await readHeader(content);
        } catch (error) {
          if (error instanceof CsvError) throw badRequest("invalid_csv", error.message, { line: error.line });
          throw error;
        }
        const header = checkHeader(csv.header);
        if (header.missing.length > 0 || header.unknown.length > 0) {
          const parts = [
            header.missing.length > 0 ? `missing columns: ${header.missing.join(", ")}` : null,
            header.unknown.length > 0 ? `unknown columns: ${header.unknown.join(", ")}` : null,
          ].filter(Boolean);
          throw badRequest("invalid_header", `header: ${parts.join("; ")}`, {
            field: "header",
            missing: header.missing,
            unknown: header.unknown,
          });
        }
        const options: ImportOptions = { siteId, deviceType, notify: notify ?? null };
        try {
          const job = await db.importJob.create({
            data: {
              id: newImportJobId(),
              orgId,
              uploadedBy: identity.id,
              fileSha256,
              fileName: fileName ?? null,
              content,
              options,
            },
            select: { id: true, status: true, totalRows: true },
          });
          worker.wake();
          return reply.status(202).send({ jobId: job.id, status: job.status, totalRows: job.totalRows });
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          // the same file uploaded twice at once: the other upload won
          const job = await db.importJob.findUniqueOrThrow({
            where: { orgId_fileSha256: { orgId, fileSha256 } },
            select: { id: true, status: true, totalRows: true },
          });
          return reply.status(200).send({ jobId: job.id, status: job.status, totalRows: job.totalRows });
        }
      },
    );

    app.get(
      "/organizations/:orgId/imports/:jobId",
      {
        schema: {
          summary: "An import job's status and counts (any member)",
          description: "updatedRows counts rows matching an existing device, changed or not (see the rows).",
          tags: ["imports"],
          params: JobParams,
          response: { 200: JobView },
        },
      },
      async (request) => {
        const { orgId, jobId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const job = await findJob(orgId, jobId);
        return {
          jobId: job.id,
          orgId: job.orgId,
          status: JobView.shape.status.parse(job.status),
          fileName: job.fileName,
          fileSha256: job.fileSha256,
          totalRows: job.totalRows,
          doneRows: job.doneRows,
          createdRows: job.createdRows,
          updatedRows: job.updatedRows,
          refusedRows: job.refusedRows,
          error: job.error,
          createdAt: job.createdAt.toISOString(),
          startedAt: job.startedAt?.toISOString() ?? null,
          finishedAt: job.finishedAt?.toISOString() ?? null,
        };
      },
    );

    app.get(
      "/organizations/:orgId/imports/:jobId/rows",
      {
        schema: {
          summary:
            "Per-row outcomes of an import job by line (header = line 1), filtered by outcome (any member)",
          tags: ["imports"],
          params: JobParams,
          querystring: RowsQuery,
          response: { 200: z.object({ items: z.array(RowView), nextCursor: z.int().nullable() }) },
        },
      },
      async (request) => {
        const { orgId, jobId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        await findJob(orgId, jobId);
        const { outcome, limit, cursor } = request.query;
        const rows = await db.importRow.findMany({
          where: {
            jobId,
            ...(outcome ? { outcome } : {}),
            ...(cursor !== undefined ? { line: { gt: cursor } } : {}),
          },
          orderBy: { line: "asc" },
          take: limit + 1,
        });
        const page = rows.slice(0, limit);
        return {
          items: page.map((row) => ({
            line: row.line,
            externalId: row.externalId,
            outcome: row.outcome,
            reason: row.reason,
            deviceId: row.deviceId,
          })),
          nextCursor: rows.length > limit ? (page.at(-1)?.line ?? null) : null,
        };
      },
    );
  };
}
