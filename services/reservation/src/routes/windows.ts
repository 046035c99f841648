import { IdSchema } from "@energy/contracts";
import { type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import { whToMwh } from "../domain/reservation-rules.ts";
import { READERS, type RouteDeps } from "./access.ts";

const WindowView = z.object({
  requestId: z.string(),
  idempotencyKey: z.string(),
  windowStart: z.iso.datetime(),
  windowEnd: z.iso.datetime(),
  version: z.int().describe("1: the window's request; higher: late reads of the same window"),
  energyWh: z.number(),
  energyMWh: z.number(),
  carriedOverWh: z.number(),
  late: z.boolean(),
  capped: z.boolean(),
  status: z.enum(["requested", "succeeded", "failed"]),
  failureReason: z.string().nullable(),
  contributions: z.array(z.object({ deviceId: z.string(), energyWh: z.number(), reads: z.int() })),
  requestedAt: z.iso.datetime(),
});

const WarningView = z.object({
  code: z.string().describe("no_data, below_minimum, target_reached, target_exceeded, correction_too_late"),
  message: z.string(),
  windowStart: z.iso.datetime().nullable(),
  deviceId: z.string().nullable(),
  createdAt: z.iso.datetime(),
});

const Params = z.object({ orgId: IdSchema, reservationId: IdSchema });
const Page = z.object({
  limit: z.coerce.number().int().min(1).max(1_000).default(200),
  /** windows starting at or after this instant */
  from: z.iso.datetime().optional(),
});

/** A reservation's issuance requests (with each device's contribution) and its warnings. */
export function windowRoutes({ db, requireOrgRole }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const find = async (orgId: string, reservationId: string) => {
      const r = await db.reservation.findFirst({ where: { id: reservationId, buyerOrgId: orgId } });
      if (!r) throw notFound("reservation");
      return r;
    };

    app.get(
      "/organizations/:orgId/reservations/:reservationId/windows",
      {
        schema: {
          summary: "Issuance requests of a reservation, in window order",
          params: Params,
          querystring: Page,
          response: { 200: z.object({ windows: z.array(WindowView) }) },
        },
      },
      async (request) => {
        const { orgId, reservationId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        await find(orgId, reservationId);
        const rows = await db.issuanceWindow.findMany({
          where: {
            reservationId,
            ...(request.query.from ? { windowStart: { gte: new Date(request.query.from) } } : {}),
          },
          orderBy: [{ windowStart: "asc" }, { version: "asc" }],
          take: request.query.limit,
        });
        return {
          windows: rows.map((w) => ({
            requestId: w.requestId,
            idempotencyKey: w.idempotencyKey,
            windowStart: w.windowStart.toISOString(),
            windowEnd: w.windowEnd.toISOString(),
            version: w.version,
            energyWh: Number(w.energyWh),
            energyMWh: whToMwh(w.energyWh),
            carriedOverWh: Number(w.carriedOverWh),
            late: w.late,
            capped: w.capped,
            status: w.status as "requested" | "succeeded" | "failed",
            failureReason: w.failureReason,
            contributions: w.contributions as { deviceId: string; energyWh: number; reads: number }[],
            requestedAt: w.createdAt.toISOString(),
          })),
        };
      },
    );

    app.get(
      "/organizations/:orgId/reservations/:reservationId/warnings",
      {
        schema: {
          summary:
            "Warnings of a reservation: windows without data, target reached or passed, late corrections",
          params: Params,
          querystring: Page.pick({ limit: true }),
          response: { 200: z.object({ warnings: z.array(WarningView) }) },
        },
      },
      async (request) => {
        const { orgId, reservationId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        await find(orgId, reservationId);
        const rows = await db.reservationWarning.findMany({
          where: { reservationId },
          orderBy: { id: "asc" },
          take: request.query.limit,
        });
        return {
          warnings: rows.map((w) => ({
            code: w.code,
            message: w.message,
            windowStart: w.windowStart ? w.windowStart.toISOString() : null,
            deviceId: w.deviceId,
            createdAt: w.createdAt.toISOString(),
          })),
        };
      },
    );
  };
}
