import { type Device, type EventPayload, topics } from "@energy/contracts";
import type { HandlerContext, Subscription } from "@energy/kafka";
import { inTx, type Tx } from "./tx.ts";

type Devices = typeof topics.registryDevice;

/**
 * A device snapshot: its certification data, and the capacity log. The registry publishes the whole
 * device on every change, so a capacity that differs from the one held is a change, in force from the
 * event's time (occurredAt: a replay rebuilds the same log). The first capacity is in force before its
 * time too (the device had it when it was registered; plausibility reads it for back-dated periods).
 */
async function upsertDevice(tx: Tx, d: Device, ctx: HandlerContext) {
  const data = {
    orgId: d.orgId,
    siteId: d.siteId,
    externalId: d.externalId,
    capacityW: d.capacityW,
    commissioningDate: d.commissioningDate,
    yieldValue: d.yieldValue ?? null,
    state: d.state,
    deletedAt: null,
    ...(d.createdAt !== undefined ? { onboardedAt: new Date(d.createdAt) } : {}),
  };
  const before = await tx.device.findUnique({ where: { id: d.deviceId }, select: { capacityW: true } });
  await tx.device.upsert({
    where: { id: d.deviceId },
    // A registry that does not publish createdAt yet: the first event's time is the onboarding.
    create: { id: d.deviceId, onboardedAt: new Date(ctx.envelope.occurredAt), ...data },
    update: data,
  });
  if (d.capacityW !== null && d.capacityW !== before?.capacityW) {
    await tx.deviceCapacity.upsert({
      where: { deviceId_fromAt: { deviceId: d.deviceId, fromAt: new Date(ctx.envelope.occurredAt) } },
      create: { deviceId: d.deviceId, fromAt: new Date(ctx.envelope.occurredAt), capacityW: d.capacityW },
      update: { capacityW: d.capacityW },
    });
  }
}

/** Devices: organization, externalId, capacity (and its log), commissioning and onboarding dates, yield. */
export const deviceSubscription: Subscription = {
  topic: topics.registryDevice.name,
  handlers: {
    "device.registered": inTx(upsertDevice),
    "device.updated": inTx(upsertDevice),
    "device.state_changed": inTx((tx, p: EventPayload<Devices, "device.state_changed">) =>
      tx.device.updateMany({ where: { id: p.deviceId }, data: { state: p.to } }),
    ),
    // The reads stay (certificates were issued from them); the device is no longer found by the API.
    "device.deleted": inTx((tx, p: EventPayload<Devices, "device.deleted">, ctx) =>
      tx.device.updateMany({
        where: { id: p.deviceId },
        data: { deletedAt: new Date(ctx.envelope.occurredAt) },
      }),
    ),
  },
};
