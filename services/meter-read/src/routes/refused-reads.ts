import { IdSchema } from "@energy/contracts";
import type { FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import { query } from "../db.ts";
import { findDevice, READERS, type RouteDeps } from "./access.ts";

const RefusedView = z.object({
  id: z.string().describe("cursor order"),
  source: z.enum(["api", "telemetry"]),
  readType: z.string(),
  index: z.int().describe("the read's index in its batch"),
  read: z.unknown().describe("the read as it was sent"),
  reasons: z.array(z.object({ index: z.int(), field: z.string(), code: z.string(), message: z.string() })),
  refusedAt: z.iso.datetime(),
});

/** Refused reads are kept so developers see what was refused and why. */
export function refusedReadRoutes({ db, requireOrgRole }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/organizations/:orgId/devices/:deviceId/refused-reads",
      {
        schema: {
          summary: "A device's refused reads, newest first, with paging (any member)",
          tags: ["reads"],
          params: z.object({ orgId: IdSchema, deviceId: IdSchema }),
          querystring: z.object({
            cursor: z.string().max(18).regex(/^\d+$/).optional().describe("the `next` of the previous page"),
            limit: z.coerce.number().int().min(1).max(1000).default(100),
          }),
          response: { 200: z.object({ items: z.array(RefusedView), next: z.string().nullable() }) },
        },
      },
      async (request) => {
        const { orgId, deviceId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        await findDevice(db, orgId, deviceId);
        const { cursor, limit } = request.query;
        const rows = await query<
          Array<{
            id: string;
            source: "api" | "telemetry";
            read_type: string;
            read_index: number;
            read: unknown;
            reasons: z.infer<typeof RefusedView>["reasons"];
            refused_at: Date;
          }>
        >(
          db,
          `SELECT id::text, source, read_type, read_index, read, reasons, refused_at FROM refused_read
            WHERE device_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint) ORDER BY id DESC LIMIT $3`,
          deviceId,
          cursor ?? null,
          limit + 1,
        );
        const page = rows.slice(0, limit);
        return {
          items: page.map((r) => ({
            id: r.id,
            source: r.source,
            readType: r.read_type,
            index: r.read_index,
            read: r.read,
            reasons: r.reasons,
            refusedAt: r.refused_at.toISOString(),
          })),
          next: rows.length > limit ? page[page.length - 1]!.id : null,
        };
      },
    );
  };
}
