import { type Device, topics } from "@energy/contracts";
import { defineSubscription, type Tx } from "../context.ts";

/**
 * The registry's devices with what grouping (country, fuel code, device type code, off-taker, capacity) and
 * the D-REC document need. An event written before the registry carried the device type code, off-taker,
 * grid interconnection and location has none of them: they are stored as null, and a grouping filter on
 * them matches no such device until its next `device.updated`.
 */
const upsert = (tx: Tx, d: Device) => {
  const data = {
    orgId: d.orgId,
    siteId: d.siteId,
    name: d.name,
    type: d.type,
    state: d.state,
    externalId: d.externalId,
    capacityW: d.capacityW,
    commissioningDate: d.commissioningDate ? new Date(`${d.commissioningDate}T00:00:00Z`) : null,
    countryCode: d.countryCode,
    fuelCode: d.fuelCode,
    deviceTypeCode: d.deviceTypeCode ?? null,
    offTaker: d.offTaker ?? null,
    gridInterconnection: d.gridInterconnection ?? null,
    address: d.address ?? null,
    latitude: d.latitude ?? null,
    longitude: d.longitude ?? null,
    deleted: false,
  };
  return tx.device.upsert({ where: { id: d.deviceId }, create: { id: d.deviceId, ...data }, update: data });
};

export const registryDevice = defineSubscription(topics.registryDevice, {
  "device.registered": (device, { tx }) => upsert(tx, device),
  "device.updated": (device, { tx }) => upsert(tx, device),
  "device.state_changed": ({ deviceId, to }, { tx }) =>
    tx.device.updateMany({ where: { id: deviceId }, data: { state: to } }),
  // Kept (reservations and certificates name it), but never offered or reserved again.
  "device.deleted": ({ deviceId }, { tx }) =>
    tx.device.updateMany({ where: { id: deviceId }, data: { deleted: true } }),
});
