import type { EventPayload, topics } from "@energy/contracts";
import type { Subscription } from "@energy/kafka";
import type { Tx } from "../db.ts";
import { inTx } from "./in-tx.ts";

type Device = EventPayload<typeof topics.registryDevice, "device.registered">;

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

export const registryDevices: Subscription = {
  topic: "registry.device.v1",
  handlers: {
    "device.registered": inTx(upsertDevice),
    "device.updated": inTx(upsertDevice),
    "device.state_changed": inTx(
      (tx, p: EventPayload<typeof topics.registryDevice, "device.state_changed">) =>
        tx.chargerDevice.updateMany({ where: { id: p.deviceId }, data: { state: p.to } }),
    ),
    "device.deleted": inTx((tx, p: EventPayload<typeof topics.registryDevice, "device.deleted">) =>
      tx.chargerDevice.deleteMany({ where: { id: p.deviceId } }),
    ),
  },
};
