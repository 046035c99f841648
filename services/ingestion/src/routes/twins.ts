import { DerTypeSchema, IdSchema, LivenessStateSchema } from "@energy/contracts";
import { type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import type { Db } from "../db.ts";
import type { TwinFields } from "../domain/twin.ts";
import { iso, isoOrNull, READERS, type ReadRouteDeps } from "./access.ts";

const TwinFieldView = z.object({
  value: z.unknown().describe("the field's latest value, as the reading gave it"),
  at: z.iso.datetime().describe("the time of the reading that gave it (the device's clock)"),
});

const DerTwinView = z.object({
  derId: z.string(),
  derType: DerTypeSchema,
  name: z.string(),
  readingType: z.string().nullable().describe("the type of its latest reading; null before the first"),
  lastReadingAt: z.iso.datetime().nullable().describe("time of its newest reading (the device's clock)"),
  lastReceivedAt: z.iso.datetime().nullable().describe("when ingestion received its newest reading"),
  fields: z
    .record(z.string(), TwinFieldView)
    .describe(
      "every field ever read, with its latest value and when it was read: an older reading never overwrites it",
    ),
});

const LivenessView = z.object({
  state: LivenessStateSchema.or(z.literal("unknown")).describe(
    "active, stale or disconnected from the flow of readings; unknown until ingestion first hears from the device",
  ),
  lastSeenAt: z.iso
    .datetime()
    .nullable()
    .describe("time of last contact (when its last reading was received)"),
  changedAt: z.iso.datetime().nullable().describe("when the state last changed"),
});

const DeviceTwinView = z.object({
  deviceId: z.string(),
  siteId: z.string(),
  name: z.string(),
  type: z.string(),
  liveness: LivenessView,
  ders: z.array(DerTwinView),
});

const SiteTwinView = z.object({
  siteId: z.string(),
  name: z.string(),
  timezone: z.string(),
  devices: z.array(DeviceTwinView),
});

const OrgParams = z.object({ orgId: IdSchema });
const SiteParams = OrgParams.extend({ siteId: IdSchema });
const DeviceParams = OrgParams.extend({ deviceId: IdSchema });

type DeviceRow = { id: string; siteId: string; name: string; type: string };

/** The twins of the given devices (all in `orgId`), in the order given. */
async function deviceTwins(
  db: Db,
  orgId: string,
  devices: DeviceRow[],
): Promise<z.infer<typeof DeviceTwinView>[]> {
  const deviceIds = devices.map((d) => d.id);
  const [ders, liveness] = await Promise.all([
    db.der.findMany({ where: { orgId, deviceId: { in: deviceIds } }, orderBy: { id: "asc" } }),
    db.deviceLiveness.findMany({ where: { deviceId: { in: deviceIds } } }),
  ]);
  const twins = await db.twin.findMany({ where: { derId: { in: ders.map((d) => d.id) } } });
  const twinOf = new Map(twins.map((t) => [t.derId, t]));
  const livenessOf = new Map(liveness.map((l) => [l.deviceId, l]));
  return devices.map((device) => {
    const live = livenessOf.get(device.id);
    return {
      deviceId: device.id,
      siteId: device.siteId,
      name: device.name,
      type: device.type,
      liveness: {
        state: live ? LivenessStateSchema.parse(live.state) : "unknown",
        lastSeenAt: isoOrNull(live?.lastSeenAt),
        changedAt: isoOrNull(live?.changedAt),
      },
      ders: ders
        .filter((der) => der.deviceId === device.id)
        .map((der) => {
          const twin = twinOf.get(der.id);
          return {
            derId: der.id,
            derType: DerTypeSchema.parse(der.derType),
            name: der.name,
            readingType: twin?.readingType ?? null,
            lastReadingAt: twin ? iso(twin.lastReadingAt) : null,
            lastReceivedAt: twin ? iso(twin.lastReceivedAt) : null,
            fields: (twin?.fields ?? {}) as TwinFields,
          };
        }),
    };
  });
}

/** The digital twins ("meter shadows"): each device's liveness and the latest value of every field of its DERs. */
export function twinRoutes({ db, requireOrgRole }: ReadRouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/organizations/:orgId/sites/:siteId/twin",
      {
        schema: {
          summary:
            "The digital twin of a site: its devices' liveness and their DERs' latest values (any member)",
          tags: ["twins"],
          params: SiteParams,
          response: { 200: SiteTwinView },
        },
      },
      async (request) => {
        const { orgId, siteId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const site = await db.site.findFirst({ where: { id: siteId, orgId } });
        if (!site) throw notFound("site");
        const devices = await db.device.findMany({ where: { orgId, siteId }, orderBy: { id: "asc" } });
        return {
          siteId: site.id,
          name: site.name,
          timezone: site.timezone,
          devices: await deviceTwins(db, orgId, devices),
        };
      },
    );

    app.get(
      "/organizations/:orgId/devices/:deviceId/twin",
      {
        schema: {
          summary: "The digital twin of a device: its liveness and its DERs' latest values (any member)",
          tags: ["twins"],
          params: DeviceParams,
          response: { 200: DeviceTwinView },
        },
      },
      async (request) => {
        const { orgId, deviceId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const device = await db.device.findFirst({ where: { id: deviceId, orgId } });
        if (!device) throw notFound("device");
        const [twin] = await deviceTwins(db, orgId, [device]);
        return twin!;
      },
    );
  };
}
