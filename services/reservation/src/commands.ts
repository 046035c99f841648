import type { IssuanceFrequency } from "@energy/contracts";
import { AppError, badRequest, conflict } from "@energy/service-kit";
import type { Db } from "./db.ts";
import { newReservationId } from "./domain/ids.ts";
import {
  COOL_DOWN_MS,
  capacityInPeriodWh,
  deviceAvailability,
  unavailabilityMessage,
} from "./domain/reservation-rules.ts";
import type { Reservation } from "./generated/prisma/client.ts";
import {
  endReservation,
  lockReservation,
  nextWindowEndAfter,
  recordSnapshot,
  type Tx,
} from "./reservations.ts";
import type { LeftOutDevice } from "./views.ts";

export interface NewReservation {
  buyerOrgId: string;
  createdBy: string;
  name: string;
  deviceIds: string[];
  targetVolumeWh: bigint | null;
  start: Date;
  end: Date;
  frequency: IssuanceFrequency;
  timezone: string;
  authorityToExceed: boolean;
  buyerAddress: string;
  continueIfUnavailable: boolean;
  continueIfTargetBelow: boolean;
}

/** Devices the registry knows (and has not deleted); the others are a 400 naming them. */
async function knownDevices(tx: Tx, deviceIds: string[]) {
  const devices = await tx.device.findMany({ where: { id: { in: deviceIds }, deleted: false } });
  const known = new Set(devices.map((d) => d.id));
  const unknown = deviceIds.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw badRequest("unknown_devices", `unknown devices: ${unknown.join(", ")}`, {
      field: "deviceIds",
      deviceIds: unknown,
    });
  }
  return devices;
}

/**
 * Takes the devices for the reservation: one INSERT … ON CONFLICT per device into device_lock, whose
 * primary key is the device: a free device (no row, or a cool-down that has passed) is taken, a reserved
 * or cooling-down one is not. Two concurrent requests for the same device serialize on its row and
 * exactly one gets it. Returns the devices taken and those left out with the reason.
 */
async function claimDevices(
  tx: Tx,
  reservationId: string,
  buyerOrgId: string,
  deviceIds: string[],
  now: Date,
): Promise<{ taken: string[]; leftOut: LeftOutDevice[] }> {
  const taken = await tx.$queryRawUnsafe<{ device_id: string }[]>(
    `INSERT INTO device_lock (device_id, reservation_id, locked_until)
     SELECT unnest($1::text[]), $2, NULL
     ON CONFLICT (device_id) DO UPDATE SET reservation_id = EXCLUDED.reservation_id, locked_until = NULL
       WHERE device_lock.locked_until IS NOT NULL AND device_lock.locked_until <= $3
     RETURNING device_id`,
    deviceIds,
    reservationId,
    now,
  );
  const takenSet = new Set(taken.map((t) => t.device_id));
  const missing = deviceIds.filter((id) => !takenSet.has(id));
  const locks = await tx.deviceLock.findMany({ where: { deviceId: { in: missing } } });
  const own = await tx.reservation.findMany({
    where: { buyerOrgId, id: { in: locks.map((l) => l.reservationId) } },
    select: { id: true },
  });
  const ownIds = new Set(own.map((o) => o.id));
  const lockOf = new Map(locks.map((l) => [l.deviceId, l]));
  const leftOut = missing.map((deviceId): LeftOutDevice => {
    const u = deviceAvailability(lockOf.get(deviceId) ?? null, now, ownIds) ?? {
      reason: "reserved" as const,
      reservationId: "",
      byThisBuyer: false,
    };
    return {
      deviceId,
      reason: u.reason,
      message: unavailabilityMessage(u),
      availableAgainAt: u.reason === "cooling_down" ? u.availableAgainAt.toISOString() : null,
    };
  });
  return { taken: deviceIds.filter((id) => takenSet.has(id)), leftOut };
}

function unavailableError(leftOut: LeftOutDevice[]): AppError {
  return new AppError(
    "devices_unavailable",
    409,
    `${leftOut.length} device(s) cannot be reserved: ${leftOut.map((l) => `${l.deviceId} (${l.message})`).join("; ")}; ` +
      "set continueWithReservationIfOneOrMoreDevicesUnavailableForReservation to reserve the others",
    { field: "deviceIds", devices: leftOut },
  );
}

/** Creates a reservation under the one-buyer-per-device rule; its past windows are requested by issuance. */
export async function createReservation(
  db: Db,
  input: NewReservation,
  now: Date,
): Promise<{ reservation: Reservation; leftOut: LeftOutDevice[] }> {
  const deviceIds = [...new Set(input.deviceIds)];
  return db.$transaction(async (tx) => {
    const devices = await knownDevices(tx, deviceIds);
    const id = newReservationId();
    const { taken, leftOut } = await claimDevices(tx, id, input.buyerOrgId, deviceIds, now);
    if (leftOut.length > 0 && !input.continueIfUnavailable) throw unavailableError(leftOut);
    if (taken.length === 0) {
      throw new AppError("no_devices_available", 409, "none of the devices can be reserved", {
        field: "deviceIds",
        devices: leftOut,
      });
    }
    const capacity = capacityInPeriodWh(
      devices.filter((d) => taken.includes(d.id)).map((d) => d.capacityW),
      input.start,
      input.end,
    );
    if (input.targetVolumeWh !== null && input.targetVolumeWh < capacity && !input.continueIfTargetBelow) {
      throw new AppError(
        "target_below_device_capacity",
        409,
        `the target volume (${input.targetVolumeWh} Wh) is less than the devices' total capacity over the period ` +
          `(${capacity} Wh); set continueWithReservationIfTargetCapacityIsLessThanDeviceTotalCapacityBetweenDuration to go on`,
        { field: "targetVolumeInMegaWattHour", capacityWh: Number(capacity) },
      );
    }
    const draft = {
      id,
      buyerOrgId: input.buyerOrgId,
      name: input.name,
      buyerAddress: input.buyerAddress,
      start: input.start,
      end: input.end,
      frequency: input.frequency,
      timezone: input.timezone,
      targetVolumeWh: input.targetVolumeWh,
      authorityToExceed: input.authorityToExceed,
      continueIfUnavailable: input.continueIfUnavailable,
      continueIfTargetBelow: input.continueIfTargetBelow,
      requestedUntil: input.start,
      createdBy: input.createdBy,
    };
    const reservation = await tx.reservation.create({
      data: {
        ...draft,
        nextWindowEnd: nextWindowEndAfter(
          { ...draft, endedAt: null, endReason: null } as Reservation,
          input.start,
        ),
      },
    });
    await tx.reservationDevice.createMany({
      data: taken.map((deviceId) => ({ reservationId: id, deviceId, addedAt: now })),
    });
    await recordSnapshot(tx, "reservation.created", reservation);
    return { reservation, leftOut };
  });
}

/** PATCH: adds and removes devices (the same rules as create); removed devices enter the cool-down. */
export async function changeDevices(
  db: Db,
  reservation: Reservation,
  change: { add: string[]; remove: string[] },
  now: Date,
): Promise<{ reservation: Reservation; leftOut: LeftOutDevice[] }> {
  return db.$transaction(async (tx) => {
    const r = await lockReservation(tx, reservation.id);
    if (!r) throw conflict("reservation_gone", "the reservation is gone");
    if (r.status !== "active")
      throw conflict("reservation_ended", "the reservation has ended; its devices cannot change");
    const members = await tx.reservationDevice.findMany({ where: { reservationId: r.id, removedAt: null } });
    const current = new Set(members.map((m) => m.deviceId));
    const remove = [...new Set(change.remove)];
    const notIn = remove.filter((id) => !current.has(id));
    if (notIn.length > 0) {
      throw badRequest("device_not_in_reservation", `not in this reservation: ${notIn.join(", ")}`, {
        field: "removeDeviceIds",
        deviceIds: notIn,
      });
    }
    const add = [...new Set(change.add)].filter((id) => !current.has(id));
    let leftOut: LeftOutDevice[] = [];
    let taken: string[] = [];
    if (add.length > 0) {
      await knownDevices(tx, add);
      ({ taken, leftOut } = await claimDevices(tx, r.id, r.buyerOrgId, add, now));
      if (leftOut.length > 0 && !r.continueIfUnavailable) throw unavailableError(leftOut);
    }
    if (current.size - remove.length + taken.length === 0) {
      throw conflict("last_device", "a reservation keeps at least one device; DELETE ends it");
    }
    const availableAgainAt = new Date(now.getTime() + COOL_DOWN_MS);
    if (remove.length > 0) {
      await tx.reservationDevice.updateMany({
        where: { reservationId: r.id, deviceId: { in: remove } },
        data: { removedAt: now },
      });
      await tx.deviceLock.updateMany({
        where: { reservationId: r.id, deviceId: { in: remove }, lockedUntil: null },
        data: { lockedUntil: availableAgainAt },
      });
    }
    if (taken.length > 0) {
      // A device removed earlier and added again gets its row back.
      for (const deviceId of taken) {
        await tx.reservationDevice.upsert({
          where: { reservationId_deviceId: { reservationId: r.id, deviceId } },
          create: { reservationId: r.id, deviceId, addedAt: now },
          update: { addedAt: now, removedAt: null },
        });
      }
    }
    const updated = await tx.reservation.update({ where: { id: r.id }, data: { updatedAt: now } });
    if (remove.length > 0 || taken.length > 0) {
      await recordSnapshot(tx, "reservation.updated", updated, {
        released: remove.map((deviceId) => ({ deviceId, availableAgainAt: availableAgainAt.toISOString() })),
      });
    }
    return { reservation: updated, leftOut };
  });
}

/** DELETE: ends the reservation now (windows until now are still requested); devices enter the cool-down. */
export async function cancelReservation(db: Db, id: string, now: Date): Promise<Reservation> {
  return db.$transaction(async (tx) => {
    const r = await lockReservation(tx, id);
    if (!r) throw conflict("reservation_gone", "the reservation is gone");
    if (r.status === "ended") return r;
    const ended = await endReservation(tx, r, "cancelled", now < r.start ? r.start : now);
    return ended;
  });
}

/**
 * Manual release of a reservation past its end whose automatic release did not happen: ends it as
 * expired (cool-down from its end). An ended reservation whose devices are somehow still held has them
 * put into their cool-down. A reservation still running is a 409 (DELETE ends it early).
 */
export async function releaseReservation(db: Db, id: string, now: Date): Promise<Reservation> {
  return db.$transaction(async (tx) => {
    const r = await lockReservation(tx, id);
    if (!r) throw conflict("reservation_gone", "the reservation is gone");
    if (r.status === "active") {
      if (r.end > now) {
        throw conflict("reservation_active", "the reservation has not reached its end; DELETE ends it early");
      }
      return endReservation(tx, r, "expired", r.end);
    }
    const from = r.endedAt ?? r.end;
    await tx.deviceLock.updateMany({
      where: { reservationId: r.id, lockedUntil: null },
      data: { lockedUntil: new Date(from.getTime() + COOL_DOWN_MS) },
    });
    return r;
  });
}
