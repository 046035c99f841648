import { Readable } from "node:stream";
import { IdSchema, ReadFlagSchema, ReadSourceSchema, ReadTypeSchema } from "@energy/contracts";
import { badRequest, type FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import { type Db, query } from "../db.ts";
import { PERIODS, type Period, type PeriodSpan, periodSpans } from "../domain/periods.ts";
import { isTimeZone, TIME_ZONE_MAX_LENGTH } from "../domain/zoned.ts";
import { findDevice, READERS, type RouteDeps } from "./access.ts";

const Params = z.object({ orgId: IdSchema, deviceId: IdSchema });
const Time = (what: string) => z.iso.datetime({ offset: true }).optional().describe(what);
const Window = z.object({
  from: Time("ISO 8601 time, included (default: the beginning)"),
  to: Time("ISO 8601 time, not included (default: now)"),
});

const ReadView = z.object({
  readId: z.string(),
  version: z.int().describe("1, or higher once a telemetry read was corrected"),
  readType: ReadTypeSchema,
  source: ReadSourceSchema,
  start: z.iso.datetime().nullable().describe("null for a starting point (a first delta/aggregate entry)"),
  end: z.iso.datetime(),
  valueWh: z.int().describe("the value as sent, in Wh (the register for aggregate reads)"),
  energyWh: z.int().nullable().describe("energy counted for [start, end); null for a starting point"),
  eligible: z.boolean(),
  flags: z.array(ReadFlagSchema),
  contentHash: z.string().nullable(),
  recordedAt: z.iso.datetime(),
});

interface ReadRow {
  read_id: string;
  version: number;
  read_type: string;
  source: string;
  start_at: Date | null;
  end_at: Date;
  value_wh: string;
  energy_wh: string | null;
  eligible: boolean;
  flags: string[] | null;
  content_hash: string | null;
  recorded_at: Date;
}

const COLUMNS =
  "read_id, version, read_type, source, start_at, end_at, value_wh::text, energy_wh::text, eligible, flags, content_hash, recorded_at";

const view = (r: ReadRow): z.infer<typeof ReadView> => ({
  readId: r.read_id,
  version: r.version,
  readType: ReadTypeSchema.parse(r.read_type),
  source: ReadSourceSchema.parse(r.source),
  start: r.start_at?.toISOString() ?? null,
  end: r.end_at.toISOString(),
  valueWh: Number(r.value_wh),
  energyWh: r.energy_wh === null ? null : Number(r.energy_wh),
  eligible: r.eligible,
  flags: (r.flags ?? []) as z.infer<typeof ReadFlagSchema>[],
  contentHash: r.content_hash,
  recordedAt: r.recorded_at.toISOString(),
});

function window(query: { from?: string | undefined; to?: string | undefined }) {
  const from = query.from ? new Date(query.from) : new Date(0);
  const to = query.to ? new Date(query.to) : new Date();
  if (to <= from) throw badRequest("invalid_query", "to must be after from", { field: "to" });
  return { from, to };
}

/** Reads of a device: raw with paging, energy per period, sums, the latest, CSV export. */
export function readQueryRoutes({ db, requireOrgRole }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/organizations/:orgId/devices/:deviceId/reads",
      {
        schema: {
          summary: "A device's reads, oldest first, with paging (any member)",
          description:
            "The current version of every read whose end lies in [from, to). `next` is the cursor of the next page.",
          tags: ["reads"],
          params: Params,
          querystring: Window.extend({
            cursor: z.iso.datetime().optional().describe("the `next` of the previous page"),
            limit: z.coerce.number().int().min(1).max(10_000).default(1000),
          }),
          response: { 200: z.object({ items: z.array(ReadView), next: z.iso.datetime().nullable() }) },
        },
      },
      async (request) => {
        const { orgId, deviceId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        await findDevice(db, orgId, deviceId);
        const { from, to } = window(request.query);
        const after = request.query.cursor ? new Date(request.query.cursor) : null;
        const limit = request.query.limit;
        const rows = await query<ReadRow[]>(
          db,
          `SELECT ${COLUMNS} FROM meter_read
            WHERE device_id = $1 AND end_at >= $2 AND end_at < $3 AND ($4::timestamptz IS NULL OR end_at > $4)
            ORDER BY end_at LIMIT $5`,
          deviceId,
          from,
          to,
          after,
          limit + 1,
        );
        const page = rows.slice(0, limit);
        return {
          items: page.map(view),
          next: rows.length > limit ? page[page.length - 1]!.end_at.toISOString() : null,
        };
      },
    );

    app.get(
      "/organizations/:orgId/devices/:deviceId/reads/latest",
      {
        schema: {
          summary: "A device's latest read (any member)",
          tags: ["reads"],
          params: Params,
          response: { 200: z.object({ read: ReadView.nullable() }) },
        },
      },
      async (request) => {
        const { orgId, deviceId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        await findDevice(db, orgId, deviceId);
        const [row] = await query<ReadRow[]>(
          db,
          `SELECT ${COLUMNS} FROM meter_read WHERE device_id = $1 ORDER BY end_at DESC LIMIT 1`,
          deviceId,
        );
        return { read: row ? view(row) : null };
      },
    );

    app.get(
      "/organizations/:orgId/devices/:deviceId/energy",
      {
        schema: {
          summary: "A device's energy per hour, day, week, month or year in a time zone (any member)",
          description:
            "Counted reads whose period starts in [from, to), summed per period of their start in the time zone " +
            "(default: the site's). A read is never split: one that crosses a period's end counts where it starts. " +
            "Weeks start on Monday.",
          tags: ["energy"],
          params: Params,
          querystring: Window.extend({
            period: z.enum(PERIODS),
            timezone: z
              .string()
              .max(TIME_ZONE_MAX_LENGTH)
              .optional()
              .describe("IANA zone; default the device's site's"),
          }),
          response: {
            200: z.object({
              period: z.enum(PERIODS),
              timezone: z.string(),
              items: z.array(
                z.object({
                  start: z.iso.datetime().describe("the period's start (UTC)"),
                  energyWh: z.int(),
                  reads: z.int(),
                }),
              ),
            }),
          },
        },
      },
      async (request) => {
        const { orgId, deviceId } = request.params;
        let bounds: { from: Date; to: Date };
        try {
          bounds = window(request.query);
        } catch (error) {
          await requireOrgRole(request, orgId, READERS); // a stranger hears "not found" first, as elsewhere
          throw error;
        }
        const { from, to } = bounds;
        // The caller's role, the device and its span of reads are looked up at once, then judged in that
        // order (nothing of the device is answered unless the caller may see it and it is the
        // organization's): two round trips less per request than one after the other.
        const [role, found, readsSpan] = await Promise.allSettled([
          requireOrgRole(request, orgId, READERS),
          findDevice(db, orgId, deviceId),
          request.query.period === "hour" || request.query.period === "day"
            ? undefined
            : readSpan(db, deviceId, from, to),
        ]);
        if (role.status === "rejected") throw role.reason;
        if (found.status === "rejected") throw found.reason;
        if (readsSpan.status === "rejected") throw readsSpan.reason;
        const device = found.value;
        const span = readsSpan.value;
        const timezone = request.query.timezone ?? device.timezone;
        if (!isTimeZone(timezone)) {
          throw badRequest("invalid_query", `unknown time zone "${timezone}"`, { field: "timezone" });
        }
        const rows = await energyPerPeriod(db, deviceId, request.query.period, timezone, from, to, span);
        return {
          period: request.query.period,
          timezone,
          items: rows.map((r) => ({ start: r.bucket.toISOString(), energyWh: Number(r.wh), reads: r.reads })),
        };
      },
    );

    app.get(
      "/organizations/:orgId/devices/:deviceId/energy/sum",
      {
        schema: {
          summary: "A device's energy over any window (any member)",
          description:
            "The sum of the counted reads that lie inside [from, to). Reads that cross the window's edges are not " +
            "split (that would invent how the energy was spread); they are listed in `partial`.",
          tags: ["energy"],
          params: Params,
          querystring: Window,
          response: {
            200: z.object({
              from: z.iso.datetime(),
              to: z.iso.datetime(),
              energyWh: z.int(),
              reads: z.int(),
              partial: z.array(ReadView),
            }),
          },
        },
      },
      async (request) => {
        const { orgId, deviceId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        await findDevice(db, orgId, deviceId);
        const { from, to } = window(request.query);
        const [inside] = await query<Array<{ wh: string | null; reads: number }>>(
          db,
          `SELECT sum(energy_wh)::text AS wh, count(*)::int AS reads FROM meter_read
            WHERE device_id = $1 AND start_at >= $2 AND start_at < $3 AND energy_wh IS NOT NULL`,
          deviceId,
          from,
          to,
        );
        // Counted reads never overlap: only the first one ending after each edge can cross it.
        const edges = await query<ReadRow[]>(
          db,
          `(SELECT ${COLUMNS} FROM meter_read WHERE device_id = $1 AND end_at > $2 AND start_at IS NOT NULL ORDER BY end_at LIMIT 1)
           UNION
           (SELECT ${COLUMNS} FROM meter_read WHERE device_id = $1 AND end_at > $3 AND start_at IS NOT NULL ORDER BY end_at LIMIT 1)`,
          deviceId,
          from,
          to,
        );
        const partial = edges
          .filter((r) => (r.start_at! < from && r.end_at > from) || (r.start_at! < to && r.end_at > to))
          .sort((a, b) => a.end_at.getTime() - b.end_at.getTime());
        // A read starting inside but ending after `to` was summed above: take it out again.
        const tail = partial.filter((r) => r.start_at! >= from && r.start_at! < to);
        const tailWh = tail.reduce((sum, r) => sum + Number(r.energy_wh ?? 0), 0);
        return {
          from: from.toISOString(),
          to: to.toISOString(),
          energyWh: Number(inside?.wh ?? 0) - tailWh,
          reads: (inside?.reads ?? 0) - tail.length,
          partial: partial.map(view),
        };
      },
    );

    app.get(
      "/organizations/:orgId/devices/:deviceId/reads/export",
      {
        schema: {
          summary: "A device's reads as CSV, streamed (any member)",
          description: "Every current read whose end lies in [from, to), oldest first, as text/csv.",
          tags: ["reads"],
          params: Params,
          querystring: Window,
          produces: ["text/csv"],
        },
      },
      async (request, reply) => {
        const { orgId, deviceId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        await findDevice(db, orgId, deviceId);
        const { from, to } = window(request.query);
        reply.header("content-type", "text/csv; charset=utf-8");
        reply.header("content-disposition", `attachment; filename="${deviceId}-reads.csv"`);
        return reply.send(Readable.from(csvLines(db, deviceId, from, to)));
      },
    );
  };
}

/**
 * Energy per period of the reads starting in [from, to). Hours and days straight from the reads (by the
 * (device, start, energy) index alone); weeks, months and years from the day rollup for their whole UTC
 * days and from the reads for the hours at their edges.
 */
export async function energyPerPeriod(
  db: Db,
  deviceId: string,
  period: Period,
  timezone: string,
  from: Date,
  to: Date,
  span?: ReadSpan,
) {
  if (period === "hour" || period === "day") {
    return query<Array<{ bucket: Date; wh: string; reads: number }>>(
      db,
      `SELECT date_trunc($2, start_at, $3) AS bucket, sum(energy_wh)::text AS wh, count(*)::int AS reads
         FROM meter_read
        WHERE device_id = $1 AND start_at >= $4 AND start_at < $5 AND energy_wh IS NOT NULL
        GROUP BY 1 ORDER BY 1`,
      deviceId,
      period,
      timezone,
      from,
      to,
    );
  }
  // Only the span the device has reads in (the default window starts in 1970).
  const range = span ?? (await readSpan(db, deviceId, from, to));
  if (!range.first || !range.last) return [];
  const spans = periodSpans(period, timezone, range.first.getTime(), range.last.getTime() + 1);
  const iso = (pick: (s: PeriodSpan) => number) => spans.map((s) => new Date(pick(s)).toISOString());
  const rows = await query<Array<{ bucket: Date; wh: string; reads: number }>>(
    db,
    `SELECT b.bucket, (coalesce(d.wh, 0) + coalesce(r.wh, 0))::text AS wh, (coalesce(d.n, 0) + coalesce(r.n, 0))::int AS reads
       FROM unnest($2::timestamptz[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[])
         AS b(bucket, s, e, fs, fe)
       LEFT JOIN LATERAL (SELECT sum(energy_wh) AS wh, sum(reads) AS n FROM meter_read_day
                           WHERE device_id = $1 AND day >= b.fs AND day < b.fe) d ON true
       LEFT JOIN LATERAL (SELECT sum(energy_wh) AS wh, count(*) AS n FROM meter_read
                           WHERE device_id = $1 AND energy_wh IS NOT NULL
                             AND ((start_at >= b.s AND start_at < b.fs) OR (start_at >= b.fe AND start_at < b.e))) r ON true
      ORDER BY 1`,
    deviceId,
    iso((s) => s.startMs),
    iso((s) => s.fromMs),
    iso((s) => s.toMs),
    iso((s) => s.daysFromMs),
    iso((s) => s.daysToMs),
  );
  return rows.filter((r) => r.reads > 0);
}

export interface ReadSpan {
  first: Date | null;
  last: Date | null;
}

/** The first and last start of the device's counted reads starting in [from, to). */
async function readSpan(db: Db, deviceId: string, from: Date, to: Date): Promise<ReadSpan> {
  const [range] = await query<ReadSpan[]>(
    db,
    `SELECT (SELECT start_at FROM meter_read WHERE device_id = $1 AND start_at >= $2 AND start_at < $3 AND energy_wh IS NOT NULL ORDER BY start_at LIMIT 1) AS first,
            (SELECT start_at FROM meter_read WHERE device_id = $1 AND start_at >= $2 AND start_at < $3 AND energy_wh IS NOT NULL ORDER BY start_at DESC LIMIT 1) AS last`,
    deviceId,
    from,
    to,
  );
  return range ?? { first: null, last: null };
}

const CSV_HEADER =
  "read_id,version,read_type,source,start,end,value_wh,energy_wh,eligible,flags,content_hash,recorded_at\n";
const CSV_PAGE = 5000;

/** The CSV in pages of 5,000 reads (keyset on end): memory stays flat for any range. */
async function* csvLines(db: Db, deviceId: string, from: Date, to: Date): AsyncGenerator<string> {
  yield CSV_HEADER;
  let after: Date | null = null;
  for (;;) {
    const rows: ReadRow[] = await query<ReadRow[]>(
      db,
      `SELECT ${COLUMNS} FROM meter_read
        WHERE device_id = $1 AND end_at >= $2 AND end_at < $3 AND ($4::timestamptz IS NULL OR end_at > $4)
        ORDER BY end_at LIMIT $5`,
      deviceId,
      from,
      to,
      after,
      CSV_PAGE,
    );
    if (rows.length === 0) return;
    yield rows
      .map(
        (r) =>
          `${r.read_id},${r.version},${r.read_type},${r.source},${r.start_at?.toISOString() ?? ""},${r.end_at.toISOString()},` +
          `${r.value_wh},${r.energy_wh ?? ""},${r.eligible},${(r.flags ?? []).join(";")},${r.content_hash ?? ""},${r.recorded_at.toISOString()}\n`,
      )
      .join("");
    if (rows.length < CSV_PAGE) return;
    after = rows[rows.length - 1]!.end_at;
  }
}
