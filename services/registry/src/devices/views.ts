import { type Device, DeviceStateSchema, DeviceTypeSchema } from "@energy/contracts";
import { z } from "zod";
import { sdgMaskToGoals } from "../domain/sdg.ts";
import type { Device as DeviceRow } from "../generated/prisma/client.ts";

/** A device as the HTTP routes show it, and as the contract's device events carry it. */

export const DeviceView = z.object({
  id: z.string(),
  orgId: z.string(),
  siteId: z.string(),
  type: DeviceTypeSchema,
  state: DeviceStateSchema,
  name: z.string(),
  make: z.string().nullable(),
  model: z.string().nullable(),
  commIdentityId: z.string().nullable(),
  externalId: z.string().nullable(),
  address: z.string().nullable(),
  latitude: z.number().nullable(),
  longitude: z.number().nullable(),
  countryCode: z.string().nullable(),
  postalCode: z.string().nullable(),
  fuelCode: z.string().nullable(),
  deviceTypeCode: z.string().nullable(),
  capacity: z.number().nullable(),
  commissioningDate: z.iso.date().nullable(),
  gridInterconnection: z.boolean().nullable(),
  energyStorage: z.boolean(),
  energyStorageCapacity: z.number().nullable(),
  offTaker: z.string().nullable(),
  yieldValue: z.number().nullable(),
  qualityLabels: z.string().nullable(),
  sdgBenefits: z.int(),
  sdgGoals: z.array(z.int()),
  impactStory: z.string().nullable(),
  images: z.array(z.string()),
  integrator: z.string().nullable(),
  description: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const isoDate = (date: Date | null) => (date ? date.toISOString().slice(0, 10) : null);

export function deviceView(device: DeviceRow): z.infer<typeof DeviceView> {
  return {
    id: device.id,
    orgId: device.orgId,
    siteId: device.siteId,
    type: DeviceTypeSchema.parse(device.type),
    state: DeviceStateSchema.parse(device.state),
    name: device.name,
    make: device.make,
    model: device.model,
    commIdentityId: device.commIdentityId,
    externalId: device.externalId,
    address: device.address,
    latitude: device.latitude,
    longitude: device.longitude,
    countryCode: device.countryCode,
    postalCode: device.postalCode,
    fuelCode: device.fuelCode,
    deviceTypeCode: device.deviceTypeCode,
    capacity: device.capacity,
    commissioningDate: isoDate(device.commissioningDate),
    gridInterconnection: device.gridInterconnection,
    energyStorage: device.energyStorage,
    energyStorageCapacity: device.energyStorageCapacity,
    offTaker: device.offTaker,
    yieldValue: device.yieldValue,
    qualityLabels: device.qualityLabels,
    sdgBenefits: device.sdgBenefits,
    sdgGoals: sdgMaskToGoals(device.sdgBenefits),
    impactStory: device.impactStory,
    images: device.images,
    integrator: device.integrator,
    description: device.description,
    createdAt: device.createdAt.toISOString(),
    updatedAt: device.updatedAt.toISOString(),
  };
}

/** The contract's snapshot of a device (capacity in whole watts). */
export function devicePayload(device: DeviceRow): Device {
  return {
    deviceId: device.id,
    orgId: device.orgId,
    siteId: device.siteId,
    type: DeviceTypeSchema.parse(device.type),
    state: DeviceStateSchema.parse(device.state),
    name: device.name,
    commIdentityId: device.commIdentityId,
    externalId: device.externalId,
    make: device.make,
    model: device.model,
    capacityW: device.capacity === null ? null : Math.round(device.capacity * 1000),
    commissioningDate: isoDate(device.commissioningDate),
    countryCode: device.countryCode,
    fuelCode: device.fuelCode,
    yieldValue: device.yieldValue,
    deviceTypeCode: device.deviceTypeCode,
    offTaker: device.offTaker,
    gridInterconnection: device.gridInterconnection,
    address: device.address,
    latitude: device.latitude,
    longitude: device.longitude,
    createdAt: device.createdAt.toISOString(),
  };
}
