import type { EventPayload, topics } from "@energy/contracts";
import type { Subscription } from "@energy/kafka";
import { inTx, type Tx } from "./tx.ts";

type T = typeof topics.registryDevice;
type DeviceSnapshot = EventPayload<T, "device.registered">;

/**
 * The registry's devices with what grouping and the D-REC document need. The device event does not (yet)
 * carry the device type code, off-taker, grid interconnection or location: those columns stay null until
 * it does, and a grouping filter on them matches no device without the value.
 */
const upsert = (tx: Tx, d: DeviceSnapshot) => {
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
    deleted: false,
  };
  return tx.device.upsert({ where: { id: d.deviceId }, create: { id: d.deviceId, ...data }, update: data });
};

export const registryDevice: Subscription = {
  topic: "registry.device.v1",
  handlers: {
    "device.registered": inTx(upsert),
    "device.updated": inTx(upsert),
    "device.state_changed": inTx((tx, p: EventPayload<T, "device.state_changed">) =>
      tx.device.updateMany({ where: { id: p.deviceId }, data: { state: p.to } }),
    ),
    // Kept (reservations and certificates name it), but never offered or reserved again.
    "device.deleted": inTx((tx, p: EventPayload<T, "device.deleted">) =>
      tx.device.updateMany({ where: { id: p.deviceId }, data: { deleted: true } }),
    ),
  },
};
