import { type Reservation, topics } from "@energy/contracts";
import { defineSubscription, type Tx } from "../context.ts";

/**
 * The reservation service's reservations (group "registry.reservations"): which devices are in a buyer's
 * reservation, so that a device-group change touching one is refused (src/reserved-devices.ts). The registry
 * never asks the reservation service: the events make it refuse, a reservation outage never blocks the
 * registry, and replaying the topic rebuilds the projection.
 *
 * Decisions:
 * - `reservation.created` / `reservation.updated` are snapshots: the reservation's rows become exactly its
 *   `deviceIds` (active, no end of cool-down). A device dropped by an update (PATCH removal) is no longer in
 *   an active reservation, so its row goes and group changes to it are allowed again at once.
 * - A snapshot with status `ended` changes nothing: `reservation.ended` carries when the devices are free.
 * - `reservation.ended` sets `available_again_at` (end + 12 h cool-down) on the reservation's rows (and
 *   adds a row for a listed device not seen before); until then the devices stay protected.
 * - Events of one reservation share its key (one partition, in order); each is applied once (the runner
 *   records its envelope id in the same transaction).
 */
async function applySnapshot(tx: Tx, r: Reservation): Promise<void> {
  if (r.status !== "active") return;
  await tx.reservedDevice.deleteMany({
    where: { reservationId: r.reservationId, deviceId: { notIn: r.deviceIds } },
  });
  if (r.deviceIds.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO reserved_device (reservation_id, device_id, buyer_org_id, available_again_at, updated_at)
    SELECT ${r.reservationId}, d, ${r.buyerOrgId}, NULL, now() FROM unnest(${r.deviceIds}::text[]) AS d
    ON CONFLICT (reservation_id, device_id) DO UPDATE SET available_again_at = NULL, updated_at = now()`;
}

export const reservationReservations = defineSubscription(topics.reservationReservation, {
  "reservation.created": (r, { tx }) => applySnapshot(tx, r),
  "reservation.updated": (r, { tx }) => applySnapshot(tx, r),
  "reservation.ended": async (ended, { tx }) => {
    const until = new Date(ended.availableAgainAt);
    await tx.reservedDevice.updateMany({
      where: { reservationId: ended.reservationId },
      data: { availableAgainAt: until },
    });
    if (ended.deviceIds.length === 0) return;
    await tx.$executeRaw`
      INSERT INTO reserved_device (reservation_id, device_id, buyer_org_id, available_again_at, updated_at)
      SELECT ${ended.reservationId}, d, ${ended.buyerOrgId}, ${until}, now() FROM unnest(${ended.deviceIds}::text[]) AS d
      ON CONFLICT (reservation_id, device_id) DO UPDATE SET available_again_at = EXCLUDED.available_again_at, updated_at = now()`;
  },
});
