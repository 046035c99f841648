import { IdSchema, ReadSourceSchema } from "@energy/contracts";
import type { FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import { readSource, switchReadSource } from "../reads/read-source.ts";
import { findDevice, READERS, type RouteDeps, SOURCE_SWITCHERS } from "./access.ts";

const Params = z.object({ orgId: IdSchema, deviceId: IdSchema });

const ReadSourceView = z.object({
  deviceId: z.string(),
  initialSource: ReadSourceSchema.nullable().describe(
    "where reads come from before the first switch (set by the first stored read); null while there is none",
  ),
  switches: z
    .array(
      z.object({
        from: z.iso.datetime().describe("reads whose period starts at or after it come from `source`"),
        source: ReadSourceSchema,
        switchedBy: z.string().describe("the identity that switched"),
        switchedAt: z.iso.datetime(),
      }),
    )
    .describe("oldest first; each in force until the next"),
});

/** One source per device at a time (telemetry or API), and the switch between them. */
export function readSourceRoutes({ db, requireOrgRole }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/organizations/:orgId/devices/:deviceId/read-source",
      {
        schema: {
          summary: "Where a device's reads come from, and its switches (any member)",
          tags: ["reads"],
          params: Params,
          response: { 200: ReadSourceView },
        },
      },
      async (request) => {
        const { orgId, deviceId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        await findDevice(db, orgId, deviceId);
        return readSource(db, deviceId);
      },
    );

    app.put(
      "/organizations/:orgId/devices/:deviceId/read-source",
      {
        schema: {
          summary: "Switch a device's reads to another source from a time on (owner, admin)",
          description:
            "From `from` (default now) on, the device's reads come from `source`: reads of it whose period starts at " +
            "or after `from` are accepted, reads of the other source are refused `source_mismatch` (and kept as " +
            "refused reads), and a read across `from` is refused. Earlier periods keep their source (late " +
            "telemetry for them is still counted). 409 `switch_before_stored_read` when a stored read ends after " +
            "`from` (a switch never reaches into stored periods), `switch_not_after_last_switch`, or " +
            "`source_unchanged`. The same switch again changes nothing.",
          tags: ["reads"],
          params: Params,
          body: z.object({
            source: ReadSourceSchema,
            from: z.iso.datetime({ offset: true }).optional().describe("ISO 8601 time (default: now)"),
          }),
          response: { 200: ReadSourceView.extend({ changed: z.boolean() }) },
        },
      },
      async (request) => {
        const { orgId, deviceId } = request.params;
        await requireOrgRole(request, orgId, SOURCE_SWITCHERS);
        await findDevice(db, orgId, deviceId);
        const fromMs = request.body.from ? Date.parse(request.body.from) : Date.now();
        return switchReadSource(db, deviceId, request.body.source, fromMs, request.identity.id);
      },
    );
  };
}
