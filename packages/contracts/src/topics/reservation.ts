import { z } from "zod";
import { IdSchema, IsoDateTimeSchema, WattHoursSchema } from "../primitives.ts";
import { defineTopic } from "../topic.ts";

export const IssuanceFrequencySchema = z.enum(["hourly", "daily", "weekly", "monthly", "quarterly"]);

/** Wallet address the certificates go to. */
export const EvmAddressSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address");

const endsAfterStart = (window: { start: string; end: string }) =>
  Date.parse(window.end) > Date.parse(window.start);

export const ReservationSchema = z
  .object({
    reservationId: IdSchema,
    buyerOrgId: IdSchema,
    name: z.string().min(1),
    deviceIds: z.array(IdSchema),
    start: IsoDateTimeSchema,
    end: IsoDateTimeSchema,
    frequency: IssuanceFrequencySchema,
    /** null: no target volume. */
    targetVolumeWh: WattHoursSchema.nullable(),
    /** Keep issuing after the target volume is reached, until end. */
    authorityToExceed: z.boolean(),
    targetAddress: EvmAddressSchema,
  })
  .refine(endsAfterStart, { path: ["end"], message: "end must be after start" });
export type Reservation = z.infer<typeof ReservationSchema>;

export const IssuanceRequestSchema = z
  .object({
    requestId: IdSchema,
    reservationId: IdSchema,
    buyerOrgId: IdSchema,
    deviceIds: z.array(IdSchema).min(1),
    start: IsoDateTimeSchema,
    end: IsoDateTimeSchema,
    energyWh: WattHoursSchema.positive(),
    targetAddress: EvmAddressSchema,
  })
  .refine(endsAfterStart, { path: ["end"], message: "end must be after start" });
export type IssuanceRequest = z.infer<typeof IssuanceRequestSchema>;

export const reservationTopics = {
  reservationReservation: defineTopic({
    name: "reservation.reservation.v1",
    owner: "reservation",
    key: "reservation id",
    keyOf: (p) => p.reservationId,
    events: {
      "reservation.created": ReservationSchema,
      "reservation.updated": ReservationSchema,
      "reservation.ended": z.object({
        reservationId: IdSchema,
        buyerOrgId: IdSchema,
        reason: z.enum(["expired", "cancelled", "target_reached"]),
      }),
    },
  }),
  reservationIssuanceRequest: defineTopic({
    name: "reservation.issuance-request.v1",
    owner: "reservation",
    key: "reservation id",
    keyOf: (p) => p.reservationId,
    events: {
      "issuance.requested": IssuanceRequestSchema,
    },
  }),
};
