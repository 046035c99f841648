import { type Reservation, type ReservationEnded, topics } from "@energy/contracts";
import { defineSubscription, type Tx } from "../context.ts";
import { queueReservationMails, type ReservationFacts } from "../reservation-mails.ts";

/**
 * The reservation service's reservations (group "registry.reservations"): which devices are in a buyer's
 * reservation, so that a device-group change touching one is refused (src/reserved-devices.ts), and the mails
 * telling the device owners' members about it (src/reservation-mails.ts). The registry never asks the
 * reservation service: the events make it refuse, a reservation outage never blocks the registry, and
 * replaying the topic rebuilds the projection.
 *
 * Decisions:
 * - `reservation.created` / `reservation.updated` are snapshots: the reservation's active rows become exactly
 *   its `deviceIds` (no end of cool-down). A device dropped by an update (PATCH removal) keeps its row until the
 *   end of its cool-down, which the update names (`releasedDevices`); an update published before that field
 *   existed does not say, and its dropped devices' rows go (free at once, as before).
 * - A snapshot with status `ended` changes nothing: `reservation.ended` carries when the devices are free.
 * - `reservation.ended` sets `available_again_at` (end + 12 h cool-down, per device when the event lists
 *   `releasedDevices`) on the reservation's active rows and on its listed devices (adding a row for a listed
 *   device not seen before); a device removed earlier keeps its own (earlier) end of cool-down.
 * - Each event queues its mails in the same transaction (mail_outbox): created → the reserved devices, updated →
 *   the devices added and removed (against the active rows before the update), ended → the reservation's devices.
 * - Events of one reservation share its key (one partition, in order); each is applied once (the runner
 *   records its envelope id in the same transaction).
 */

/** The reservation's devices currently in it (active rows), before the event is applied. */
async function activeDevices(tx: Tx, reservationId: string): Promise<string[]> {
  const rows = await tx.reservedDevice.findMany({
    where: { reservationId, availableAgainAt: null },
    select: { deviceId: true },
  });
  return rows.map((row) => row.deviceId);
}

/** Keeps what a mail says about the reservation (reservation.ended does not carry it). */
async function saveNotice(tx: Tx, r: Reservation): Promise<ReservationFacts> {
  const facts: ReservationFacts = {
    reservationId: r.reservationId,
    name: r.name,
    buyerOrgId: r.buyerOrgId,
    buyerOrgName: r.buyerOrganization.name,
    start: new Date(r.start),
    end: new Date(r.end),
    frequency: r.frequency,
    timezone: r.timezone,
  };
  const { reservationId, ...data } = facts;
  await tx.reservationNotice.upsert({ where: { reservationId }, create: facts, update: data });
  return facts;
}

async function applySnapshot(tx: Tx, r: Reservation): Promise<void> {
  const released = r.releasedDevices ?? [];
  for (const d of released) {
    if (r.deviceIds.includes(d.deviceId)) continue;
    await tx.reservedDevice.updateMany({
      where: { reservationId: r.reservationId, deviceId: d.deviceId, availableAgainAt: null },
      data: { availableAgainAt: new Date(d.availableAgainAt) },
    });
  }
  // dropped devices the event names no cool-down for (an update from before releasedDevices) are free at once
  await tx.reservedDevice.deleteMany({
    where: {
      reservationId: r.reservationId,
      availableAgainAt: null,
      deviceId: { notIn: [...r.deviceIds, ...released.map((d) => d.deviceId)] },
    },
  });
  if (r.deviceIds.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO reserved_device (reservation_id, device_id, buyer_org_id, available_again_at, updated_at)
    SELECT ${r.reservationId}, d, ${r.buyerOrgId}, NULL, now() FROM unnest(${r.deviceIds}::text[]) AS d
    ON CONFLICT (reservation_id, device_id) DO UPDATE SET available_again_at = NULL, updated_at = now()`;
}

async function applyEnded(tx: Tx, ended: ReservationEnded): Promise<void> {
  const until = new Date(ended.availableAgainAt);
  const perDevice = new Map(
    (ended.releasedDevices ?? []).map((d) => [d.deviceId, new Date(d.availableAgainAt)]),
  );
  // rows still active but not listed (should not happen) get the reservation's end of cool-down
  await tx.reservedDevice.updateMany({
    where: { reservationId: ended.reservationId, availableAgainAt: null },
    data: { availableAgainAt: until },
  });
  if (ended.deviceIds.length === 0) return;
  const untils = ended.deviceIds.map((id) => (perDevice.get(id) ?? until).toISOString());
  await tx.$executeRaw`
    INSERT INTO reserved_device (reservation_id, device_id, buyer_org_id, available_again_at, updated_at)
    SELECT ${ended.reservationId}, d.id, ${ended.buyerOrgId}, d.until, now()
    FROM unnest(${ended.deviceIds}::text[], ${untils}::timestamptz[]) AS d(id, until)
    ON CONFLICT (reservation_id, device_id) DO UPDATE SET available_again_at = EXCLUDED.available_again_at, updated_at = now()`;
}

export const reservationReservations = defineSubscription(topics.reservationReservation, {
  "reservation.created": async (r, { tx, envelope, service }) => {
    if (r.status !== "active") return;
    const facts = await saveNotice(tx, r);
    await applySnapshot(tx, r);
    const queued = await queueReservationMails(tx, envelope.id, {
      kind: "created",
      reservation: facts,
      added: r.deviceIds,
    });
    if (queued > 0) service.mailSender.wake();
  },
  "reservation.updated": async (r, { tx, envelope, service }) => {
    if (r.status !== "active") return;
    const before = await activeDevices(tx, r.reservationId);
    const facts = await saveNotice(tx, r);
    await applySnapshot(tx, r);
    const until = new Map((r.releasedDevices ?? []).map((d) => [d.deviceId, new Date(d.availableAgainAt)]));
    const queued = await queueReservationMails(tx, envelope.id, {
      kind: "updated",
      reservation: facts,
      added: r.deviceIds.filter((id) => !before.includes(id)),
      removed: before
        .filter((id) => !r.deviceIds.includes(id))
        .map((deviceId) => ({ deviceId, availableAgainAt: until.get(deviceId) ?? null })),
    });
    if (queued > 0) service.mailSender.wake();
  },
  "reservation.ended": async (ended, { tx, envelope, service }) => {
    await applyEnded(tx, ended);
    const notice = await tx.reservationNotice.findUnique({ where: { reservationId: ended.reservationId } });
    const facts: ReservationFacts = notice ?? {
      // a reservation whose snapshot this registry never saw: what the ended event says
      reservationId: ended.reservationId,
      name: ended.reservationId,
      buyerOrgId: ended.buyerOrgId,
      buyerOrgName: ended.buyerOrgId,
      start: new Date(ended.endedAt),
      end: new Date(ended.endedAt),
      frequency: "unknown",
      timezone: "UTC",
    };
    const queued = await queueReservationMails(tx, envelope.id, {
      kind: "ended",
      reservation: facts,
      ended: ended.deviceIds,
      endReason: ended.reason,
      endedAt: new Date(ended.endedAt),
      availableAgainAt: new Date(ended.availableAgainAt),
    });
    if (queued > 0) service.mailSender.wake();
  },
});
