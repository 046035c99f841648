import { DerTypeSchema, IdSchema } from "@energy/contracts";
import { type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import { ENERGY_COLUMN_SQL, ENERGY_COLUMNS, type EnergyColumn } from "../domain/intervals.ts";
import { calendarRange, todayIn } from "../domain/periods.ts";
import { queryError, READERS, type ReadRouteDeps } from "./access.ts";
import { EnergyColumnsView, roundWh } from "./intervals.ts";

const RollupView = EnergyColumnsView.extend({
  period: z.string().describe("the day (YYYY-MM-DD) or month (YYYY-MM) in the site's time zone"),
  start: z.iso.datetime().describe("the period's first instant (local midnight), UTC"),
  end: z.iso.datetime().describe("the next period's first instant, UTC"),
  readingCount: z.int().min(0),
  intervalCount: z.int().min(0).describe("half-hours with readings in the period"),
});
type Rollup = z.infer<typeof RollupView>;

const SiteEnergyView = z.object({
  siteId: z.string(),
  timezone: z.string().describe("the site's time zone: it decides where days and months begin"),
  granularity: z.enum(["day", "month"]),
  from: z.iso.date().describe("first day covered"),
  to: z.iso.date().describe("last day covered"),
  ders: z
    .array(z.object({ derId: z.string(), derType: DerTypeSchema, periods: z.array(RollupView) }))
    .describe("each DER of the site (and any that had energy here), with the periods that have energy"),
  totals: z
    .array(z.object({ derType: DerTypeSchema, periods: z.array(RollupView) }))
    .describe("the site's DERs summed per DER type"),
});

const Params = z.object({ orgId: IdSchema, siteId: IdSchema });
const Query = z.object({
  granularity: z.enum(["day", "month"]).default("day"),
  from: z.iso
    .date()
    .optional()
    .describe(
      "first day (YYYY-MM-DD, site time zone); default 30 days before `to` by day, 11 months by month",
    ),
  to: z.iso.date().optional().describe("last day, included (YYYY-MM-DD, site time zone); default today"),
});

interface RollupRow {
  der_id: string;
  der_type: string;
  period: string;
  start: Date;
  end: Date;
  generation_wh: number | null;
  import_wh: number | null;
  export_wh: number | null;
  charge_wh: number | null;
  discharge_wh: number | null;
  reading_count: number;
  interval_count: number;
}

const SQL_COLUMN: Record<EnergyColumn, keyof RollupRow> = ENERGY_COLUMN_SQL;

/** Adds `b` into `a` (a missing value stays missing only when both are). */
const plus = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : a + b);

/** Daily and monthly energy of a site. */
export function siteEnergyRoutes({ db, requireOrgRole }: ReadRouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/organizations/:orgId/sites/:siteId/energy",
      {
        schema: {
          summary: "A site's daily or monthly energy per DER and per DER type (any member)",
          description:
            "Sums of the half-hourly energy by day or month in the site's time zone (a half-hour belongs to the day " +
            "its start falls on there). `from` and `to` are days in that zone, both included; by month the whole " +
            "months of `from` and `to` are covered. At most 366 days or 36 months.",
          tags: ["energy"],
          params: Params,
          querystring: Query,
          response: { 200: SiteEnergyView },
        },
      },
      async (request) => {
        const { orgId, siteId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const site = await db.site.findFirst({ where: { id: siteId, orgId } });
        if (!site) throw notFound("site");
        const { granularity } = request.query;
        const range = calendarRange(request.query, todayIn(site.timezone, Date.now()));
        if (!range.ok) throw queryError(range.problem);
        const { from, to, until } = range.value;
        const format = granularity === "day" ? "YYYY-MM-DD" : "YYYY-MM";
        // Local days and months are made by PostgreSQL from the site's zone (DST days have 23 or 25 hours).
        const rows = await db.$queryRawUnsafe<RollupRow[]>(
          `WITH periods AS (
             SELECT i.*, date_trunc($6, i.interval_start AT TIME ZONE $3) AS local_start
               FROM energy_interval i
              WHERE i.org_id = $1 AND i.site_id = $2
                AND i.interval_start >= ($4::date)::timestamp AT TIME ZONE $3
                AND i.interval_start < ($5::date)::timestamp AT TIME ZONE $3)
           SELECT der_id, der_type, to_char(local_start, '${format}') AS period,
                  local_start AT TIME ZONE $3 AS start,
                  (local_start + ('1 ' || $6)::interval) AT TIME ZONE $3 AS "end",
                  sum(generation_wh) AS generation_wh, sum(import_wh) AS import_wh, sum(export_wh) AS export_wh,
                  sum(charge_wh) AS charge_wh, sum(discharge_wh) AS discharge_wh,
                  sum(reading_count)::int AS reading_count, count(*)::int AS interval_count
             FROM periods
            GROUP BY der_id, der_type, local_start
            ORDER BY der_id, local_start`,
          orgId,
          siteId,
          site.timezone,
          from,
          until,
          granularity,
        );

        const view = (row: RollupRow): Rollup => {
          const energy = Object.fromEntries(
            ENERGY_COLUMNS.map((c) => [c, roundWh(row[SQL_COLUMN[c]] as number | null)]),
          ) as Record<EnergyColumn, number | null>;
          return {
            period: row.period,
            start: row.start.toISOString(),
            end: row.end.toISOString(),
            ...energy,
            readingCount: row.reading_count,
            intervalCount: row.interval_count,
          };
        };

        const siteDers = await db.der.findMany({ where: { orgId, siteId }, orderBy: { id: "asc" } });
        const ders = new Map(
          siteDers.map((d) => [d.id, { derId: d.id, derType: d.derType, periods: [] as Rollup[] }]),
        );
        const totals = new Map<string, Map<string, RollupRow>>();
        for (const row of rows) {
          let der = ders.get(row.der_id);
          if (!der) {
            der = { derId: row.der_id, derType: row.der_type, periods: [] };
            ders.set(row.der_id, der);
          }
          der.periods.push(view(row));
          const byPeriod = totals.get(row.der_type) ?? new Map<string, RollupRow>();
          totals.set(row.der_type, byPeriod);
          const sum = byPeriod.get(row.period);
          if (!sum) {
            byPeriod.set(row.period, { ...row });
            continue;
          }
          for (const c of ENERGY_COLUMNS) {
            const key = SQL_COLUMN[c] as "generation_wh";
            sum[key] = plus(sum[key], row[key]);
          }
          sum.reading_count += row.reading_count;
          sum.interval_count += row.interval_count;
        }

        return {
          siteId,
          timezone: site.timezone,
          granularity,
          from,
          to,
          ders: [...ders.values()]
            .sort((a, b) => a.derId.localeCompare(b.derId))
            .map((d) => ({ ...d, derType: DerTypeSchema.parse(d.derType) })),
          totals: [...totals.entries()]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([derType, byPeriod]) => ({
              derType: DerTypeSchema.parse(derType),
              periods: [...byPeriod.values()].sort((a, b) => a.start.getTime() - b.start.getTime()).map(view),
            })),
        };
      },
    );
  };
}
