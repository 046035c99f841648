import { type Device, topics } from "@energy/contracts";
import { defineSubscription, type Tx } from "../context.ts";

const upsertDevice = (tx: Tx, d: Device) => {
  const data = {
    orgId: d.orgId,
    siteId: d.siteId,
    type: d.type,
    name: d.name,
    state: d.state,
    commIdentityId: d.commIdentityId,
  };
  return tx.device.upsert({ where: { id: d.deviceId }, create: { id: d.deviceId, ...data }, update: data });
};

/** Devices: which gateway serves each (its comm identity) and whether it is orphaned. */
export const registryDevices = defineSubscription(topics.registryDevice, {
  "device.registered": (device, { tx }) => upsertDevice(tx, device),
  "device.updated": (device, { tx }) => upsertDevice(tx, device),
  "device.state_changed": ({ deviceId, to }, { tx }) =>
    tx.device.updateMany({ where: { id: deviceId }, data: { state: to } }),
  "device.deleted": async ({ deviceId }, { tx }) => {
    await tx.der.deleteMany({ where: { deviceId } });
    await tx.device.deleteMany({ where: { id: deviceId } });
  },
});
