import { z } from "zod";
import { IdSchema, IsoDateTimeSchema, WattHoursSchema } from "../primitives.ts";
import { defineTopic } from "../topic.ts";
import { GasTierNameSchema } from "./certificate.ts";

export const IssuanceFrequencySchema = z.enum(["hourly", "daily", "weekly", "monthly", "quarterly"]);
export type IssuanceFrequency = z.infer<typeof IssuanceFrequencySchema>;

/**
 * Wallet address the certificates go to (the buyer's). The shape only; the reservation service also
 * verifies the EIP-55 checksum of a mixed-case address before it accepts one.
 */
export const EvmAddressSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address");

const endsAfterStart = (window: { start: string; end: string }) =>
  Date.parse(window.end) > Date.parse(window.start);

const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex sha256");

/** A reserved device as the certificate's D-REC document describes it (from the registry's device). */
export const ReservedDeviceSchema = z.object({
  deviceId: IdSchema,
  /** The device owner's organization (the developer), not the buyer. */
  orgId: IdSchema,
  siteId: IdSchema.nullable(),
  name: z.string().min(1),
  externalId: z.string().nullable(),
  countryCode: z.string().nullable(),
  fuelCode: z.string().nullable(),
  deviceTypeCode: z.string().nullable(),
  /** The registry's device type (inverter, battery, …): the technology. */
  type: z.string().min(1),
  capacityW: z.int().min(0).nullable(),
  commissioningDate: z.iso.date().nullable(),
  gridInterconnection: z.boolean().nullable(),
  offTaker: z.string().nullable(),
  address: z.string().nullable(),
  latitude: z.number().nullable(),
  longitude: z.number().nullable(),
});
export type ReservedDevice = z.infer<typeof ReservedDeviceSchema>;

/** The buyer organization as the D-REC document names it. */
export const BuyerOrganizationSchema = z.object({
  orgId: IdSchema,
  name: z.string().min(1),
  /** The reservation's blockchain address (the certificates' owner and beneficiary). */
  blockchainAccountAddress: EvmAddressSchema,
});

export const ReservationStatusSchema = z.enum(["active", "ended"]);

/**
 * A device leaving a reservation (removed by PATCH, or in a reservation that ended) and until when it stays
 * unavailable to every buyer: the end of its 12-hour cool-down.
 */
export const ReleasedDeviceSchema = z.object({
  deviceId: IdSchema,
  availableAgainAt: IsoDateTimeSchema,
});
export type ReleasedDevice = z.infer<typeof ReleasedDeviceSchema>;

/**
 * A reservation snapshot: `reservation.created` / `reservation.updated` carry the whole reservation, so
 * a consumer just upserts it. Consumers: certificate (on-chain reservation log: id, buyer address, a
 * hash of the sorted deviceIds, start and end) and registry (mails the device owners' members).
 */
export const ReservationSchema = z
  .object({
    reservationId: IdSchema,
    name: z.string().min(1),
    buyerOrgId: IdSchema,
    buyerOrganization: BuyerOrganizationSchema,
    /** The certificates' owner and beneficiary; one address may serve many reservations. */
    buyerAddress: EvmAddressSchema,
    /** Sorted; the devices currently in the reservation. */
    deviceIds: z.array(IdSchema),
    devices: z.array(ReservedDeviceSchema),
    /** Device owners' organizations (sorted, distinct): whom to notify. */
    deviceOrgIds: z.array(IdSchema),
    start: IsoDateTimeSchema,
    end: IsoDateTimeSchema,
    frequency: IssuanceFrequencySchema,
    /** IANA zone the windows are cut in; "UTC" unless the buyer set one. */
    timezone: z.string().min(1),
    /** The target volume in whole Wh (the API takes MWh); null: no target. */
    targetVolumeWh: WattHoursSchema.nullable(),
    /** Keep issuing after the target volume is reached, until end. */
    authorityToExceed: z.boolean(),
    status: ReservationStatusSchema,
    /**
     * On `reservation.updated`: the devices this change removed (sorted by id), each with the end of its
     * cool-down. Absent on `reservation.created`, and on updates published before the field existed (a
     * consumer cannot tell from those until when a removed device is unavailable).
     */
    releasedDevices: z.array(ReleasedDeviceSchema).optional(),
  })
  .refine(endsAfterStart, { path: ["end"], message: "end must be after start" });
export type Reservation = z.infer<typeof ReservationSchema>;

export const ReservationEndedSchema = z.object({
  reservationId: IdSchema,
  buyerOrgId: IdSchema,
  /** expired: past its end; cancelled: DELETE by the buyer; target_reached: capped without authority to exceed. */
  reason: z.enum(["expired", "cancelled", "target_reached"]),
  endedAt: IsoDateTimeSchema,
  deviceIds: z.array(IdSchema),
  /** The devices may be reserved again from this moment (12 h cool-down). */
  availableAgainAt: IsoDateTimeSchema,
  /**
   * Each device of `deviceIds` with the end of its cool-down (today all equal to `availableAgainAt`).
   * Absent in events published before the field existed: `availableAgainAt` holds for every device then.
   */
  releasedDevices: z.array(ReleasedDeviceSchema).optional(),
});
export type ReservationEnded = z.infer<typeof ReservationEndedSchema>;

/** One read an issuance request was made from (meter-read's read id, version and content hash). */
export const IssuanceReadSchema = z.object({
  readId: IdSchema,
  version: z.int().min(1),
  /** meter-read's sha256 of the read's content: certificate builds its root hash over these. */
  contentHash: Sha256HexSchema,
  start: IsoDateTimeSchema,
  end: IsoDateTimeSchema,
  energyWh: WattHoursSchema,
  /** The read arrived after the window it ends in had been requested; it is counted here instead. */
  late: z.boolean(),
});
export type IssuanceRead = z.infer<typeof IssuanceReadSchema>;

/** What one device gave to a request: its energy (the sum of its reads', maybe capped) and its reads. */
export const IssuanceContributionSchema = ReservedDeviceSchema.extend({
  energyWh: WattHoursSchema,
  /** In order of end, then readId. */
  reads: z.array(IssuanceReadSchema).min(1),
});
export type IssuanceContribution = z.infer<typeof IssuanceContributionSchema>;

/** The window [start, end) of an issuance request. */
const IssuanceWindowSchema = z
  .object({ start: IsoDateTimeSchema, end: IsoDateTimeSchema })
  .refine(endsAfterStart, {
    path: ["end"],
    message: "end must be after start",
  });

/** A request's (or a requested window's) energy is exactly the sum of its contributions' energy. */
function energyIsTheContributionsSum(w: {
  energyWh: number;
  contributions: readonly { energyWh: number }[];
}): boolean {
  return w.energyWh === w.contributions.reduce((sum, c) => sum + c.energyWh, 0);
}
const ENERGY_IS_THE_CONTRIBUTIONS_SUM = {
  path: ["energyWh"],
  message: "must equal the sum of the contributions' energyWh",
};

export const IssuanceRequestSchema = z
  .object({
    /**
     * `<reservationId>:<window start ISO>:v<version>`: the same request is always published under the
     * same key (a re-run or a crash never makes a second one). version 1 is the window's request; a
     * later version of the same window carries late reads or corrections.
     */
    idempotencyKey: z.string().min(1),
    /** A uuid derived from the idempotency key; certificate results name it. */
    requestId: z.uuid(),
    reservationId: IdSchema,
    version: z.int().min(1),
    buyerOrgId: IdSchema,
    buyerOrganization: BuyerOrganizationSchema,
    /** The certificates' owner and beneficiary. */
    buyerAddress: EvmAddressSchema,
    frequency: IssuanceFrequencySchema,
    timezone: z.string().min(1),
    /** The window [start, end) the energy was produced in; partial at the reservation's start or end. */
    window: IssuanceWindowSchema,
    /** The energy to certify, whole Wh: the sum of the contributions' energy. */
    energyWh: WattHoursSchema.positive(),
    /** Energy of smaller earlier windows carried into this one (minimum certificate size), included above. */
    carriedOverWh: WattHoursSchema,
    /** true when some reads came after their window was requested. */
    late: z.boolean(),
    /** Capped at the target volume (no authority to exceed): the rest of the reads stays unclaimed. */
    capped: z.boolean(),
    contributions: z.array(IssuanceContributionSchema).min(1),
    /**
     * The gas tier of this request's mint (fast: about 30 s, standard: 5 min, slow: 30 min); absent: the
     * certificate service's DEFAULT_GAS_TIER.
     */
    gasTier: GasTierNameSchema.optional(),
    /** The reservation as the D-REC document needs it at the time of the request. */
    reservation: z.object({
      name: z.string().min(1),
      start: IsoDateTimeSchema,
      end: IsoDateTimeSchema,
      targetVolumeWh: WattHoursSchema.nullable(),
      authorityToExceed: z.boolean(),
      /** Counters before this request (Wh). */
      requestedWh: WattHoursSchema,
      succeededWh: WattHoursSchema,
      failedWh: WattHoursSchema,
    }),
    requestedAt: IsoDateTimeSchema,
  })
  .refine(energyIsTheContributionsSum, ENERGY_IS_THE_CONTRIBUTIONS_SUM);
export type IssuanceRequest = z.infer<typeof IssuanceRequestSchema>;

/** One window of `issuance.windows-requested`: an issuance request without what its record says once. */
export const RequestedWindowSchema = z
  .object({
    idempotencyKey: z.string().min(1),
    requestId: z.uuid(),
    version: z.int().min(1),
    window: IssuanceWindowSchema,
    energyWh: WattHoursSchema.positive(),
    carriedOverWh: WattHoursSchema,
    late: z.boolean(),
    capped: z.boolean(),
    /** By device id; each device's fields are the record's `devices` entry of that id. */
    contributions: z
      .array(
        z.object({
          deviceId: IdSchema,
          energyWh: WattHoursSchema,
          reads: z.array(IssuanceReadSchema).min(1),
        }),
      )
      .min(1),
  })
  .refine(energyIsTheContributionsSum, ENERGY_IS_THE_CONTRIBUTIONS_SUM);
export type RequestedWindow = z.infer<typeof RequestedWindowSchema>;

/**
 * `issuance.windows-requested`: many issuance requests of one reservation in one record (a pass of the
 * issuance job makes one record per reservation, or a few when its windows would pass the message size
 * limit), each window exactly what an `issuance.requested` says. The buyer, the reservation's snapshot and
 * the contributing devices are said once; `reservation.requestedWh` is the counter before the first window,
 * and each window's own counter is that plus the energy of the windows before it (`issuanceRequestsOf`).
 * Every window keeps its idempotency key and request id: a consumer makes one certificate per window.
 */
export const IssuanceWindowsRequestedSchema = z
  .object({
    reservationId: IdSchema,
    buyerOrgId: IdSchema,
    buyerOrganization: BuyerOrganizationSchema,
    buyerAddress: EvmAddressSchema,
    frequency: IssuanceFrequencySchema,
    timezone: z.string().min(1),
    gasTier: GasTierNameSchema.optional(),
    reservation: IssuanceRequestSchema.shape.reservation,
    /** Every device of a contribution, once, by id. */
    devices: z.array(ReservedDeviceSchema),
    /** In the order the windows were requested (the order of the counters). */
    windows: z.array(RequestedWindowSchema).min(1),
    requestedAt: IsoDateTimeSchema,
  })
  .refine(
    (batch) => {
      const ids = new Set(batch.devices.map((d) => d.deviceId));
      return batch.windows.every((w) => w.contributions.every((c) => ids.has(c.deviceId)));
    },
    { path: ["devices"], message: "must hold every contributing device" },
  );
export type IssuanceWindowsRequested = z.infer<typeof IssuanceWindowsRequestedSchema>;

/** The issuance requests a `issuance.windows-requested` record carries, in order, as `issuance.requested` says them. */
export function issuanceRequestsOf(batch: IssuanceWindowsRequested): IssuanceRequest[] {
  const devices = new Map(batch.devices.map((d) => [d.deviceId, d]));
  let requestedWh = batch.reservation.requestedWh;
  return batch.windows.map((w) => {
    const request: IssuanceRequest = {
      idempotencyKey: w.idempotencyKey,
      requestId: w.requestId,
      reservationId: batch.reservationId,
      version: w.version,
      buyerOrgId: batch.buyerOrgId,
      buyerOrganization: batch.buyerOrganization,
      buyerAddress: batch.buyerAddress,
      frequency: batch.frequency,
      timezone: batch.timezone,
      window: w.window,
      energyWh: w.energyWh,
      carriedOverWh: w.carriedOverWh,
      late: w.late,
      capped: w.capped,
      contributions: w.contributions.map((c) => ({ ...devices.get(c.deviceId)!, ...c })),
      ...(batch.gasTier !== undefined ? { gasTier: batch.gasTier } : {}),
      reservation: { ...batch.reservation, requestedWh },
      requestedAt: batch.requestedAt,
    };
    requestedWh += w.energyWh;
    return request;
  });
}

/**
 * The `issuance.windows-requested` record of consecutive requests of one reservation (the inverse of
 * `issuanceRequestsOf`): the record's fields from the first, each device once. The requests' counters must
 * follow each other (each one's `requestedWh` the one before's plus its energy), as a producer makes them.
 */
export function windowsRequestedOf(requests: readonly IssuanceRequest[]): IssuanceWindowsRequested {
  const [first] = requests;
  if (first === undefined) throw new Error("windowsRequestedOf: no requests");
  const devices = new Map<string, ReservedDevice>();
  const windows = requests.map((r) => {
    if (r.reservationId !== first.reservationId) throw new Error("windowsRequestedOf: two reservations");
    return {
      idempotencyKey: r.idempotencyKey,
      requestId: r.requestId,
      version: r.version,
      window: r.window,
      energyWh: r.energyWh,
      carriedOverWh: r.carriedOverWh,
      late: r.late,
      capped: r.capped,
      contributions: r.contributions.map(({ energyWh, reads, ...device }) => {
        if (!devices.has(device.deviceId)) devices.set(device.deviceId, device);
        return { deviceId: device.deviceId, energyWh, reads };
      }),
    };
  });
  return {
    reservationId: first.reservationId,
    buyerOrgId: first.buyerOrgId,
    buyerOrganization: first.buyerOrganization,
    buyerAddress: first.buyerAddress,
    frequency: first.frequency,
    timezone: first.timezone,
    ...(first.gasTier !== undefined ? { gasTier: first.gasTier } : {}),
    reservation: first.reservation,
    devices: [...devices.values()],
    windows,
    requestedAt: first.requestedAt,
  };
}

export const reservationTopics = {
  reservationReservation: defineTopic({
    name: "reservation.reservation.v1",
    owner: "reservation",
    key: "reservation id",
    keyOf: (p) => p.reservationId,
    events: {
      "reservation.created": ReservationSchema,
      /** Devices added or removed (the frequency never changes). */
      "reservation.updated": ReservationSchema,
      "reservation.ended": ReservationEndedSchema,
    },
  }),
  reservationIssuanceRequest: defineTopic({
    name: "reservation.issuance-request.v1",
    owner: "reservation",
    key: "reservation id",
    keyOf: (p) => p.reservationId,
    events: {
      /** One window's request (written by the service before `issuance.windows-requested`; still consumed). */
      "issuance.requested": IssuanceRequestSchema,
      /** Many windows' requests of one reservation, in order (what the service writes). */
      "issuance.windows-requested": IssuanceWindowsRequestedSchema,
    },
  }),
};
