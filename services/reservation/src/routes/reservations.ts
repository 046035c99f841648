import { IdSchema, IssuanceFrequencySchema } from "@energy/contracts";
import { badRequest, type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import { cancelReservation, changeDevices, createReservation, releaseReservation } from "../commands.ts";
import { checkAddress, MAX_TARGET_MWH, mwhToWh, periodProblems } from "../domain/reservation-rules.ts";
import { loadView, ReservationView } from "../views.ts";
import { buyerOrg, READERS, type RouteDeps, TimezoneSchema, WRITERS } from "./access.ts";

const CreateBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    deviceIds: z.array(IdSchema).min(1).max(10_000),
    targetVolumeInMegaWattHour: z.number().min(0).max(MAX_TARGET_MWH).nullish(),
    /** The seed's API input calls the target this. */
    targetCapacityInMegaWattHour: z.number().min(0).max(MAX_TARGET_MWH).nullish(),
    reservationStartDate: z.iso.datetime({ offset: true }),
    reservationEndDate: z.iso.datetime({ offset: true }),
    frequency: IssuanceFrequencySchema,
    timezone: TimezoneSchema.default("UTC"),
    authorityToExceed: z.boolean().default(false),
    blockchainAddress: z
      .string()
      .max(100)
      .describe("an EVM address (0x + 40 hex digits), checksummed when mixed case"),
    continueWithReservationIfOneOrMoreDevicesUnavailableForReservation: z.boolean().default(false),
    continueWithReservationIfTargetCapacityIsLessThanDeviceTotalCapacityBetweenDuration: z
      .boolean()
      .default(false),
  })
  .describe("a buyer reservation (the seed's API input)");

const PatchBody = z
  .object({
    addDeviceIds: z.array(IdSchema).max(10_000).default([]),
    removeDeviceIds: z.array(IdSchema).max(10_000).default([]),
    frequency: z
      .unknown()
      .optional()
      .describe("refused: the frequency is fixed for the life of a reservation"),
  })
  .describe("devices to add to or remove from the reservation");

const OrgParams = z.object({ orgId: IdSchema });
const ReservationParams = OrgParams.extend({ reservationId: IdSchema });

export function reservationRoutes({ db, requireOrgRole, published }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const find = async (orgId: string, reservationId: string) => {
      // Another buyer's reservation does not exist for the caller.
      const r = await db.reservation.findFirst({ where: { id: reservationId, buyerOrgId: orgId } });
      if (!r) throw notFound("reservation");
      return r;
    };

    app.post(
      "/organizations/:orgId/reservations",
      {
        schema: {
          summary: "Reserve devices (a buyer organization's owner, admin or operator)",
          params: OrgParams,
          body: CreateBody,
          response: { 201: ReservationView },
        },
      },
      async (request, reply) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        await buyerOrg(db, orgId);
        const body = request.body;
        const now = new Date();
        const start = new Date(body.reservationStartDate);
        const end = new Date(body.reservationEndDate);
        const [problem] = periodProblems(start, end, now);
        if (problem)
          throw badRequest(problem.code, `${problem.field} ${problem.message}`, { field: problem.field });
        const address = checkAddress(body.blockchainAddress);
        if ("problem" in address) {
          throw badRequest(address.problem.code, `blockchainAddress ${address.problem.message}`, {
            field: "blockchainAddress",
          });
        }
        const target = body.targetVolumeInMegaWattHour ?? body.targetCapacityInMegaWattHour ?? null;
        const { reservation, leftOut } = await createReservation(
          db,
          {
            buyerOrgId: orgId,
            createdBy: request.identity.id,
            name: body.name,
            deviceIds: body.deviceIds,
            targetVolumeWh: target === null ? null : mwhToWh(target),
            start,
            end,
            frequency: body.frequency,
            timezone: body.timezone,
            authorityToExceed: body.authorityToExceed,
            buyerAddress: address.address,
            continueIfUnavailable: body.continueWithReservationIfOneOrMoreDevicesUnavailableForReservation,
            continueIfTargetBelow:
              body.continueWithReservationIfTargetCapacityIsLessThanDeviceTotalCapacityBetweenDuration,
          },
          now,
        );
        published();
        return reply.code(201).send(await loadView(db, reservation, leftOut));
      },
    );

    app.get(
      "/organizations/:orgId/reservations",
      {
        schema: {
          summary: "The buyer organization's reservations, newest first",
          params: OrgParams,
          querystring: z.object({ status: z.enum(["active", "ended"]).optional() }),
          response: { 200: z.object({ reservations: z.array(ReservationView) }) },
        },
      },
      async (request) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const rows = await db.reservation.findMany({
          where: { buyerOrgId: orgId, ...(request.query.status ? { status: request.query.status } : {}) },
          orderBy: { createdAt: "desc" },
          take: 500,
        });
        return { reservations: await Promise.all(rows.map((r) => loadView(db, r))) };
      },
    );

    app.get(
      "/organizations/:orgId/reservations/:reservationId",
      {
        schema: {
          summary: "A reservation with its devices and counters",
          params: ReservationParams,
          response: { 200: ReservationView },
        },
      },
      async (request) => {
        const { orgId, reservationId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        return loadView(db, await find(orgId, reservationId));
      },
    );

    app.patch(
      "/organizations/:orgId/reservations/:reservationId",
      {
        schema: {
          summary: "Add or remove individual devices (the frequency cannot change)",
          params: ReservationParams,
          body: PatchBody,
          response: { 200: ReservationView },
        },
      },
      async (request) => {
        const { orgId, reservationId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const r = await find(orgId, reservationId);
        const body = request.body;
        if (body.frequency !== undefined) {
          throw badRequest("frequency_immutable", "the frequency is fixed for the life of a reservation", {
            field: "frequency",
          });
        }
        if (body.addDeviceIds.length === 0 && body.removeDeviceIds.length === 0) {
          throw badRequest("nothing_to_change", "give addDeviceIds or removeDeviceIds", {
            field: "addDeviceIds",
          });
        }
        const { reservation, leftOut } = await changeDevices(
          db,
          r,
          { add: body.addDeviceIds, remove: body.removeDeviceIds },
          new Date(),
        );
        published();
        return loadView(db, reservation, leftOut);
      },
    );

    app.delete(
      "/organizations/:orgId/reservations/:reservationId",
      {
        schema: {
          summary: "End (close) a reservation now; its devices enter the 12-hour cool-down",
          params: ReservationParams,
          response: { 200: ReservationView },
        },
      },
      async (request) => {
        const { orgId, reservationId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        await find(orgId, reservationId);
        const ended = await cancelReservation(db, reservationId, new Date());
        published();
        return loadView(db, ended);
      },
    );

    app.post(
      "/organizations/:orgId/reservations/:reservationId/release",
      {
        schema: {
          summary: "Release the devices of a reservation past its end, when the automatic release did not",
          params: ReservationParams,
          response: { 200: ReservationView },
        },
      },
      async (request) => {
        const { orgId, reservationId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        await find(orgId, reservationId);
        const released = await releaseReservation(db, reservationId, new Date());
        published();
        return loadView(db, released);
      },
    );
  };
}
