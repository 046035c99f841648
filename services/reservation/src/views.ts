import { IssuanceFrequencySchema } from "@energy/contracts";
import { z } from "zod";
import type { Db } from "./db.ts";
import { whToMwh } from "./domain/reservation-rules.ts";
import type { Device, Organization, Reservation } from "./generated/prisma/client.ts";

export const LeftOutDeviceView = z.object({
  deviceId: z.string(),
  reason: z.enum(["unknown_device", "reserved", "cooling_down"]),
  message: z.string(),
  availableAgainAt: z.iso.datetime().nullable(),
});
export type LeftOutDevice = z.infer<typeof LeftOutDeviceView>;

const DeviceView = z.object({
  id: z.string(),
  externalId: z.string().nullable(),
  status: z.string().describe("the registry's device state"),
  organizationId: z.string().describe("the device owner's organization"),
  name: z.string(),
  countryCode: z.string().nullable(),
  fuelCode: z.string().nullable(),
  deviceTypeCode: z.string().nullable(),
  capacity: z.number().nullable().describe("kW"),
  commissioningDate: z.string().nullable(),
  gridInterconnection: z.boolean().nullable(),
  offTaker: z.string().nullable(),
  address: z.string().nullable(),
  latitude: z.number().nullable(),
  longitude: z.number().nullable(),
});

/**
 * A reservation as the seed's API response shows it (the reservation with its devices, organization and
 * counters in MWh), plus what this service adds: status, time zone, the devices left out and why, warnings.
 */
export const ReservationView = z.object({
  id: z.string(),
  name: z.string(),
  organizationId: z.string().describe("the buyer organization"),
  buyerId: z.string(),
  buyerAddress: z.string(),
  countryCode: z.string().nullable().describe("the devices' country when they share one"),
  fuelCode: z.string().nullable(),
  deviceTypeCodes: z.array(z.string()),
  offTakers: z.array(z.string()).nullable(),
  gridInterconnection: z.boolean().nullable(),
  aggregatedCapacity: z.number().describe("kW, the devices' total"),
  devices: z.array(DeviceView),
  organization: z.object({ id: z.string(), name: z.string(), blockchainAccountAddress: z.string() }),
  frequency: IssuanceFrequencySchema,
  timezone: z.string(),
  reservationStartDate: z.iso.datetime(),
  reservationEndDate: z.iso.datetime(),
  targetVolumeInMegaWattHour: z.number().nullable(),
  targetVolumeCertificateGenerationRequestedInMegaWattHour: z.number(),
  targetVolumeCertificateGenerationSucceededInMegaWattHour: z.number(),
  targetVolumeCertificateGenerationFailedInMegaWattHour: z.number(),
  authorityToExceed: z.boolean(),
  continueWithReservationIfOneOrMoreDevicesUnavailableForReservation: z.boolean(),
  continueWithReservationIfTargetCapacityIsLessThanDeviceTotalCapacityBetweenDuration: z.boolean(),
  leftoverReads: z
    .number()
    .describe("Wh claimed but below the minimum certificate size, waiting for the next window"),
  leftoverReadsByCountryCode: z.record(z.string(), z.number()),
  status: z.enum(["active", "ended"]),
  endedAt: z.iso.datetime().nullable(),
  endReason: z.enum(["expired", "cancelled", "target_reached"]).nullable(),
  requestedUntil: z.iso.datetime().describe("windows before this instant have been requested"),
  warningCount: z.int(),
  leftOutDevices: z.array(LeftOutDeviceView).describe("devices asked for but not reserved, and why"),
});
export type ReservationViewT = z.infer<typeof ReservationView>;

const distinct = (values: (string | null)[]) =>
  [...new Set(values.filter((v): v is string => v !== null))].sort();
const single = (values: (string | null)[]) => {
  const d = distinct(values);
  return d.length === 1 && values.every((v) => v !== null) ? d[0]! : null;
};

export function deviceView(d: Device) {
  return {
    id: d.id,
    externalId: d.externalId,
    status: d.state,
    organizationId: d.orgId,
    name: d.name,
    countryCode: d.countryCode,
    fuelCode: d.fuelCode,
    deviceTypeCode: d.deviceTypeCode,
    capacity: d.capacityW === null ? null : d.capacityW / 1000,
    commissioningDate: d.commissioningDate ? d.commissioningDate.toISOString().slice(0, 10) : null,
    gridInterconnection: d.gridInterconnection,
    offTaker: d.offTaker,
    address: d.address,
    latitude: d.latitude,
    longitude: d.longitude,
  };
}

export function reservationView(
  r: Reservation,
  devices: Device[],
  org: Organization | null,
  warningCount: number,
  leftOut: LeftOutDevice[] = [],
): ReservationViewT {
  const grids = [...new Set(devices.map((d) => d.gridInterconnection))];
  const offTakers = distinct(devices.map((d) => d.offTaker));
  const country = single(devices.map((d) => d.countryCode));
  return {
    id: r.id,
    name: r.name,
    organizationId: r.buyerOrgId,
    buyerId: r.buyerOrgId,
    buyerAddress: r.buyerAddress,
    countryCode: country,
    fuelCode: single(devices.map((d) => d.fuelCode)),
    deviceTypeCodes: distinct(devices.map((d) => d.deviceTypeCode)),
    offTakers: offTakers.length > 0 ? offTakers : null,
    gridInterconnection: grids.length === 1 ? (grids[0] ?? null) : null,
    aggregatedCapacity: devices.reduce((sum, d) => sum + (d.capacityW ?? 0), 0) / 1000,
    devices: devices.map(deviceView),
    organization: {
      id: r.buyerOrgId,
      name: org?.name ?? r.buyerOrgId,
      blockchainAccountAddress: r.buyerAddress,
    },
    frequency: IssuanceFrequencySchema.parse(r.frequency),
    timezone: r.timezone,
    reservationStartDate: r.start.toISOString(),
    reservationEndDate: r.end.toISOString(),
    targetVolumeInMegaWattHour: r.targetVolumeWh === null ? null : whToMwh(r.targetVolumeWh),
    targetVolumeCertificateGenerationRequestedInMegaWattHour: whToMwh(r.requestedWh),
    targetVolumeCertificateGenerationSucceededInMegaWattHour: whToMwh(r.succeededWh),
    targetVolumeCertificateGenerationFailedInMegaWattHour: whToMwh(r.failedWh),
    authorityToExceed: r.authorityToExceed,
    continueWithReservationIfOneOrMoreDevicesUnavailableForReservation: r.continueIfUnavailable,
    continueWithReservationIfTargetCapacityIsLessThanDeviceTotalCapacityBetweenDuration:
      r.continueIfTargetBelow,
    leftoverReads: Number(r.carriedWh),
    leftoverReadsByCountryCode: country && r.carriedWh > 0n ? { [country]: Number(r.carriedWh) } : {},
    status: r.status as "active" | "ended",
    endedAt: r.endedAt ? r.endedAt.toISOString() : null,
    endReason: (r.endReason as ReservationViewT["endReason"]) ?? null,
    requestedUntil: r.requestedUntil.toISOString(),
    warningCount,
    leftOutDevices: leftOut,
  };
}

/** Loads what a reservation's view needs. */
export async function loadView(
  db: Db,
  r: Reservation,
  leftOut: LeftOutDevice[] = [],
): Promise<ReservationViewT> {
  const members = await db.reservationDevice.findMany({ where: { reservationId: r.id, removedAt: null } });
  const [devices, org, warningCount] = await Promise.all([
    db.device.findMany({ where: { id: { in: members.map((m) => m.deviceId) } }, orderBy: { id: "asc" } }),
    db.organization.findUnique({ where: { id: r.buyerOrgId } }),
    db.reservationWarning.count({ where: { reservationId: r.id } }),
  ]);
  return reservationView(r, devices, org, warningCount, leftOut);
}
