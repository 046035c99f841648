import { AppError } from "@energy/service-kit";
import type { Tx } from "./context.ts";

/** A device of the request that is in a buyer's reservation (or its cool-down), as the 409 names it. */
export interface ReservedDeviceHold {
  deviceId: string;
  reservationId: string;
  /** null: the reservation is active; otherwise the end of its cool-down */
  availableAgainAt: string | null;
}

/**
 * Refuses a device-group change that touches a device in an active reservation or its 12-hour cool-down
 * (the seed: developers may not change the device groups of reserved devices), from the projection of
 * reservation.reservation.v1 (src/consumers/reservation-reservations.ts). 409 `devices_reserved` with
 * `details.devices`, sorted by device id.
 */
export async function refuseReservedDevices(
  tx: Tx,
  deviceIds: readonly string[],
  now = new Date(),
): Promise<void> {
  if (deviceIds.length === 0) return;
  const rows = await tx.reservedDevice.findMany({
    where: {
      deviceId: { in: [...deviceIds] },
      OR: [{ availableAgainAt: null }, { availableAgainAt: { gt: now } }],
    },
    orderBy: [{ deviceId: "asc" }, { reservationId: "asc" }],
  });
  if (rows.length === 0) return;
  const devices: ReservedDeviceHold[] = rows.map((row) => ({
    deviceId: row.deviceId,
    reservationId: row.reservationId,
    availableAgainAt: row.availableAgainAt?.toISOString() ?? null,
  }));
  const named = devices
    .map((d) =>
      d.availableAgainAt === null
        ? `${d.deviceId} (reservation ${d.reservationId})`
        : `${d.deviceId} (reservation ${d.reservationId}, ended, free at ${d.availableAgainAt})`,
    )
    .join(", ");
  throw new AppError(
    "devices_reserved",
    409,
    `device group cannot change: devices in an active reservation or its cool-down: ${named}`,
    { devices },
  );
}
