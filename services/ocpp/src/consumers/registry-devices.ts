import { type Device, topics } from "@energy/contracts";
import { defineSubscription, type Tx } from "../context.ts";

/** Device types that speak OCPP to this service. */
export const CHARGER_TYPES = ["ev_charger", "v2x_charger"] as const;

/**
 * registry.device.v1 → charger_device. Only chargers are kept; a device that is changed to another type
 * is dropped (its charger can no longer connect). A deleted device's sockets are refused from then on.
 */
async function upsertDevice(tx: Tx, d: Device) {
  if (!(CHARGER_TYPES as readonly string[]).includes(d.type)) {
    await tx.chargerDevice.deleteMany({ where: { id: d.deviceId } });
    return;
  }
  const data = { orgId: d.orgId, siteId: d.siteId, type: d.type, name: d.name, state: d.state, make: d.make };
  await tx.chargerDevice.upsert({
    where: { id: d.deviceId },
    create: { id: d.deviceId, ...data },
    update: data,
  });
}

export const registryDevices = defineSubscription(topics.registryDevice, {
  "device.registered": (device, { tx }) => upsertDevice(tx, device),
  "device.updated": (device, { tx }) => upsertDevice(tx, device),
  "device.state_changed": ({ deviceId, to }, { tx }) =>
    tx.chargerDevice.updateMany({ where: { id: deviceId }, data: { state: to } }),
  "device.deleted": ({ deviceId }, { tx }) => tx.chargerDevice.deleteMany({ where: { id: deviceId } }),
});
