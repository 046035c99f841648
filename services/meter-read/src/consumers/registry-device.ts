import { type Device, topics } from "@energy/contracts";
import type { HandlerContext } from "@energy/kafka";
import { defineSubscription, type Tx } from "../context.ts";

/**
 * A device snapshot: its certification data, and the capacity log. The registry publishes the whole
 * device on every change, so a capacity that differs from the one held is a change, in force from the
 * event's time (occurredAt: a replay rebuilds the same log). The first capacity is in force before its
 * time too (the device had it when it was registered; plausibility reads it for back-dated periods).
 */
async function upsertDevice(tx: Tx, d: Device, { envelope }: Pick<HandlerContext, "envelope">) {
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
    create: { id: d.deviceId, onboardedAt: new Date(envelope.occurredAt), ...data },
    update: data,
  });
  if (d.capacityW !== null && d.capacityW !== before?.capacityW) {
    await tx.deviceCapacity.upsert({
      where: { deviceId_fromAt: { deviceId: d.deviceId, fromAt: new Date(envelope.occurredAt) } },
      create: { deviceId: d.deviceId, fromAt: new Date(envelope.occurredAt), capacityW: d.capacityW },
      update: { capacityW: d.capacityW },
    });
  }
}

/** Devices: organization, externalId, capacity (and its log), commissioning and onboarding dates, yield. */
export const registryDevice = defineSubscription(topics.registryDevice, {
  "device.registered": (device, ctx) => upsertDevice(ctx.tx, device, ctx),
  "device.updated": (device, ctx) => upsertDevice(ctx.tx, device, ctx),
  "device.state_changed": ({ deviceId, to }, { tx }) =>
    tx.device.updateMany({ where: { id: deviceId }, data: { state: to } }),
  // The reads stay (certificates were issued from them); the device is no longer found by the API.
  "device.deleted": ({ deviceId }, { tx, envelope }) =>
    tx.device.updateMany({ where: { id: deviceId }, data: { deletedAt: new Date(envelope.occurredAt) } }),
});
