import {
  type IssuanceFrequency,
  type ReleasedDevice,
  type Reservation as ReservationEvent,
  type ReservedDevice,
  topics,
} from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import type { Tx } from "./context.ts";
import { COOL_DOWN_MS } from "./domain/reservation-rules.ts";
import { nextPeriodStart, periodStart } from "./domain/windows.ts";
import type { Device, Reservation } from "./generated/prisma/client.ts";

export type { Tx };

/** A device as the contracts describe it to certificate and registry. */
export function reservedDevice(d: Device): ReservedDevice {
  return {
    deviceId: d.id,
    orgId: d.orgId,
    siteId: d.siteId,
    name: d.name,
    externalId: d.externalId,
    countryCode: d.countryCode,
    fuelCode: d.fuelCode,
    deviceTypeCode: d.deviceTypeCode,
    type: d.type,
    capacityW: d.capacityW,
    commissioningDate: d.commissioningDate ? d.commissioningDate.toISOString().slice(0, 10) : null,
    gridInterconnection: d.gridInterconnection,
    offTaker: d.offTaker,
    address: d.address,
    latitude: d.latitude,
    longitude: d.longitude,
  };
}

/** The reservation's period as the window rules take it; a reservation ended early stops at its end. */
export function periodOf(r: Reservation): {
  start: Date;
  end: Date;
  frequency: IssuanceFrequency;
  timezone: string;
} {
  const end = r.endedAt && r.endedAt < r.end ? r.endedAt : r.end;
  return {
    start: r.start,
    end: new Date(Math.max(end.getTime(), r.start.getTime())),
    frequency: r.frequency as IssuanceFrequency,
    timezone: r.timezone,
  };
}

/** End of the window that starts at `cursor`, or null when the reservation has no window left. */
export function nextWindowEndAfter(r: Reservation, cursor: Date): Date | null {
  const period = periodOf(r);
  if (r.endReason === "target_reached" || cursor >= period.end) return null;
  const next = nextPeriodStart(
    periodStart(cursor, period.frequency, period.timezone),
    period.frequency,
    period.timezone,
  );
  return new Date(Math.min(next.getTime(), period.end.getTime()));
}

/** The devices currently in a reservation, in id order. */
export async function currentDevices(tx: Tx, reservationId: string): Promise<Device[]> {
  const members = await tx.reservationDevice.findMany({
    where: { reservationId, removedAt: null },
    select: { deviceId: true },
  });
  return tx.device.findMany({
    where: { id: { in: members.map((m) => m.deviceId) } },
    orderBy: { id: "asc" },
  });
}

/** The buyer organization's name for the D-REC document (its id until the registry's event arrives). */
export async function buyerOrganization(tx: Tx, r: Reservation) {
  const org = await tx.organization.findUnique({ where: { id: r.buyerOrgId } });
  return { orgId: r.buyerOrgId, name: org?.name ?? r.buyerOrgId, blockchainAccountAddress: r.buyerAddress };
}

export async function reservationSnapshot(
  tx: Tx,
  r: Reservation,
  devices: Device[],
): Promise<ReservationEvent> {
  return {
    reservationId: r.id,
    name: r.name,
    buyerOrgId: r.buyerOrgId,
    buyerOrganization: await buyerOrganization(tx, r),
    buyerAddress: r.buyerAddress,
    deviceIds: devices.map((d) => d.id).sort(),
    devices: devices.map(reservedDevice),
    deviceOrgIds: [...new Set(devices.map((d) => d.orgId))].sort(),
    start: r.start.toISOString(),
    end: r.end.toISOString(),
    frequency: r.frequency as IssuanceFrequency,
    timezone: r.timezone,
    targetVolumeWh: r.targetVolumeWh === null ? null : Number(r.targetVolumeWh),
    authorityToExceed: r.authorityToExceed,
    status: r.status as "active" | "ended",
  };
}

/**
 * Records reservation.created / reservation.updated in the outbox, in the caller's transaction. An update
 * names the devices it removed with the end of their cool-down (`releasedDevices`), so the registry keeps
 * them protected until then.
 */
export async function recordSnapshot(
  tx: Tx,
  type: "reservation.created" | "reservation.updated",
  r: Reservation,
  opts: { causationId?: string; released?: ReleasedDevice[] } = {},
): Promise<void> {
  const devices = await currentDevices(tx, r.id);
  const snapshot = await reservationSnapshot(tx, r, devices);
  if (type === "reservation.updated") {
    snapshot.releasedDevices = [...(opts.released ?? [])].sort((a, b) =>
      a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0,
    );
  }
  await enqueueEvent(
    tx,
    topics.reservationReservation,
    type,
    snapshot,
    opts.causationId ? { causationId: opts.causationId } : undefined,
  );
}

/**
 * Ends a reservation (locked by the caller): no new windows after `endedAt`, its devices enter the 12-hour
 * cool-down from then, reservation.ended is recorded. Windows that closed before it are still requested,
 * and late reads for them too. Returns the updated row; an already ended reservation is returned as it is.
 */
export async function endReservation(
  tx: Tx,
  r: Reservation,
  reason: "expired" | "cancelled" | "target_reached",
  endedAt: Date,
): Promise<Reservation> {
  if (r.status === "ended") return r;
  const availableAgainAt = new Date(endedAt.getTime() + COOL_DOWN_MS);
  const devices = await tx.reservationDevice.findMany({ where: { reservationId: r.id, removedAt: null } });
  await tx.deviceLock.updateMany({
    where: { reservationId: r.id, lockedUntil: null },
    data: { lockedUntil: availableAgainAt },
  });
  const ended = { ...r, status: "ended", endedAt, endReason: reason };
  const cursor = r.requestedUntil;
  const updated = await tx.reservation.update({
    where: { id: r.id },
    data: { status: "ended", endedAt, endReason: reason, nextWindowEnd: nextWindowEndAfter(ended, cursor) },
  });
  const deviceIds = devices.map((d) => d.deviceId).sort();
  await enqueueEvent(tx, topics.reservationReservation, "reservation.ended", {
    reservationId: r.id,
    buyerOrgId: r.buyerOrgId,
    reason,
    endedAt: endedAt.toISOString(),
    deviceIds,
    availableAgainAt: availableAgainAt.toISOString(),
    releasedDevices: deviceIds.map((deviceId) => ({
      deviceId,
      availableAgainAt: availableAgainAt.toISOString(),
    })),
  });
  return updated;
}

/** Locks a reservation row for the rest of the transaction; null when there is none. */
export async function lockReservation(tx: Tx, id: string): Promise<Reservation | null> {
  const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
    "SELECT id FROM reservation WHERE id = $1 FOR UPDATE",
    id,
  );
  if (rows.length === 0) return null;
  return tx.reservation.findUnique({ where: { id } });
}
