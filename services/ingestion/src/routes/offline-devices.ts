import { IdSchema } from "@energy/contracts";
import type { FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import { parseWithin, WITHIN_PATTERN } from "../domain/periods.ts";
import { queryError, READERS, type ReadRouteDeps } from "./access.ts";

const OfflineDeviceView = z.object({
  deviceId: z.string(),
  siteId: z.string().nullable().describe("null when the registry no longer has the device"),
  name: z.string().nullable(),
  type: z.string().nullable(),
  state: z.enum(["stale", "disconnected"]),
  lastSeenAt: z.iso
    .datetime()
    .nullable()
    .describe("time of last contact (when its last reading was received)"),
  changedAt: z.iso.datetime().describe("when it went stale or disconnected"),
});

const OfflineDevicesView = z.object({
  since: z.iso.datetime().describe("the start of the window: now minus `within`"),
  items: z.array(OfflineDeviceView),
});

const Params = z.object({ orgId: IdSchema });
const Query = z.object({
  within: z
    .string()
    .max(10)
    .regex(WITHIN_PATTERN, "within must be a number of minutes, hours or days, e.g. 30m, 6h, 7d")
    .default("24h")
    .describe("how far back a change of state counts: 30m, 6h, 7d, … (at most 90d); default 24h"),
});

interface OfflineRow {
  device_id: string;
  site_id: string | null;
  name: string | null;
  type: string | null;
  state: "stale" | "disconnected";
  last_seen_at: Date | null;
  changed_at: Date;
}

/** The devices that went quiet recently ("meters offline"). */
export function offlineDeviceRoutes({ db, requireOrgRole }: ReadRouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/organizations/:orgId/devices/offline",
      {
        schema: {
          summary: "Devices now stale or disconnected that went so recently (any member)",
          description:
            "The organization's devices whose liveness is stale or disconnected now and changed within `within`, " +
            "most recent change first.",
          tags: ["liveness"],
          params: Params,
          querystring: Query,
          response: { 200: OfflineDevicesView },
        },
      },
      async (request) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const within = parseWithin(request.query.within);
        if (!within.ok) throw queryError(within.problem);
        const since = new Date(Date.now() - within.value);
        const rows = await db.$queryRawUnsafe<OfflineRow[]>(
          `SELECT l.device_id, d.site_id, d.name, d.type, l.state, l.last_seen_at, l.changed_at
             FROM device_liveness l LEFT JOIN device d ON d.id = l.device_id
            WHERE l.org_id = $1 AND l.changed_at >= $2 AND l.state IN ('stale', 'disconnected')
            ORDER BY l.changed_at DESC, l.device_id`,
          orgId,
          since,
        );
        return {
          since: since.toISOString(),
          items: rows.map((row) => ({
            deviceId: row.device_id,
            siteId: row.site_id,
            name: row.name,
            type: row.type,
            state: row.state,
            lastSeenAt: row.last_seen_at?.toISOString() ?? null,
            changedAt: row.changed_at.toISOString(),
          })),
        };
      },
    );
  };
}
