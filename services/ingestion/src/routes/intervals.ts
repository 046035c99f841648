import { DerTypeSchema, IdSchema } from "@energy/contracts";
import { type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import { INTERVAL_MS, intervalStartOf } from "../domain/intervals.ts";
import { timeWindow } from "../domain/periods.ts";
import { iso, queryError, READERS, type ReadRouteDeps } from "./access.ts";

/** Energy in Wh to the mWh, never below 0 (as in interval.computed); null stays null. */
export const roundWh = (value: number | null): number | null =>
  value === null ? null : Math.max(0, Math.round(value * 1000) / 1000);

const Wh = (what: string) =>
  z
    .number()
    .min(0)
    .nullable()
    .describe(`${what} in Wh (to the mWh); null when the DER type has no such counter or none was read`);

export const EnergyColumnsView = z.object({
  generationWh: Wh("PV generation"),
  importWh: Wh("energy imported from the grid"),
  exportWh: Wh("energy exported to the grid"),
  chargeWh: Wh("energy charged"),
  dischargeWh: Wh("energy discharged"),
});

const IntervalView = EnergyColumnsView.extend({
  intervalStart: z.iso.datetime().describe("on a :00 or :30 boundary (UTC)"),
  intervalEnd: z.iso.datetime().describe("intervalStart + 30 minutes"),
  readingCount: z.int().min(0).describe("readings of the DER within the half-hour"),
  complete: z
    .boolean()
    .describe("published as interval.computed: the DER has reported past the half-hour's end"),
  corrections: z.int().min(0).describe("times the half-hour changed after it was published (late readings)"),
});

const IntervalsView = z.object({
  derId: z.string(),
  derType: DerTypeSchema,
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  intervals: z.array(IntervalView),
});

const Params = z.object({ orgId: IdSchema, derId: IdSchema });
const Query = z.object({
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("ISO 8601 time; default 24 hours before `to`. Half-hours that end after it are included"),
  to: z.iso.datetime({ offset: true }).optional().describe("ISO 8601 time, not included; default now"),
});

/** A DER's half-hourly energy. */
export function intervalRoutes({ db, requireOrgRole }: ReadRouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/organizations/:orgId/ders/:derId/intervals",
      {
        schema: {
          summary: "A DER's half-hourly energy (any member)",
          description:
            "The half-hours between `from` and `to` (default: the last 24 hours; at most 31 days) that have readings, " +
            "oldest first. A half-hour is complete once published; a later change counts as a correction.",
          tags: ["energy"],
          params: Params,
          querystring: Query,
          response: { 200: IntervalsView },
        },
      },
      async (request) => {
        const { orgId, derId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const window = timeWindow(request.query, Date.now());
        if (!window.ok) throw queryError(window.problem);
        const der = await db.der.findFirst({ where: { id: derId, orgId } });
        if (!der) throw notFound("DER");
        const { from, to } = window.value;
        const rows = await db.energyInterval.findMany({
          where: { derId, orgId, intervalStart: { gte: new Date(intervalStartOf(from)), lt: new Date(to) } },
          orderBy: { intervalStart: "asc" },
        });
        return {
          derId,
          derType: DerTypeSchema.parse(der.derType),
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          intervals: rows.map((row) => ({
            intervalStart: iso(row.intervalStart),
            intervalEnd: new Date(row.intervalStart.getTime() + INTERVAL_MS).toISOString(),
            generationWh: roundWh(row.generationWh),
            importWh: roundWh(row.importWh),
            exportWh: roundWh(row.exportWh),
            chargeWh: roundWh(row.chargeWh),
            dischargeWh: roundWh(row.dischargeWh),
            readingCount: row.readingCount,
            complete: row.publishedAt !== null,
            corrections: row.corrections,
          })),
        };
      },
    );
  };
}
