import { topics } from "@energy/contracts";
import { enqueueEvent, type Logger } from "@energy/kafka";
import type { Db, Tx } from "../db.ts";
import type { CallContext } from "./handler.ts";

/**
 * A transaction that names a reservation (1.6 StartTransaction.reservationId, 2.0.1 TransactionEvent
 * reservationId) uses it up: state used, `reservation.used`. The charger's time decides: a start queued
 * while offline that arrives after the expiry was recorded here still uses it if it started before the
 * reservation expired. An unknown reservation, or one already used or cancelled, changes nothing.
 */
export async function useReservation(
  ctx: CallContext,
  use: {
    reservationId: number;
    connectorId: number;
    transactionId: string;
    idTag: string | null;
    startedAt: Date;
  },
): Promise<boolean> {
  const chargePointId = ctx.charger.chargePointId;
  const reservation = await ctx.tx.reservation.findUnique({
    where: { chargePointId_id: { chargePointId, id: use.reservationId } },
  });
  if (!reservation) return false;
  const usable =
    reservation.state === "active" ||
    (reservation.state === "expired" && use.startedAt.getTime() <= reservation.expiresAt.getTime());
  if (!usable) return false;
  const won = await ctx.tx.reservation.updateMany({
    where: { chargePointId, id: use.reservationId, state: reservation.state },
    data: {
      state: "used",
      endedAt: use.startedAt,
      transactionId: use.transactionId,
      usedByIdTag: use.idTag,
    },
  });
  if (won.count === 0) return false;
  await enqueueEvent(
    ctx.tx,
    topics.ocppCharger,
    "reservation.used",
    {
      chargePointId,
      reservationId: use.reservationId,
      connectorId: use.connectorId > 0 ? use.connectorId : reservation.connectorId,
      transactionId: use.transactionId,
      idTag: use.idTag,
      usedAt: use.startedAt.toISOString(),
    },
    { correlationId: ctx.correlationId },
  );
  return true;
}

/**
 * Marks one active reservation expired (once, whoever gets there first) and publishes it, in `tx`.
 */
export async function expireReservation(
  tx: Tx,
  key: { chargePointId: string; id: number },
  detectedBy: "central_system" | "charger",
  now = new Date(),
): Promise<boolean> {
  const reservation = await tx.reservation.findUnique({ where: { chargePointId_id: key } });
  if (reservation?.state !== "active") return false;
  const won = await tx.reservation.updateMany({
    where: { ...key, state: "active" },
    data: { state: "expired", endedAt: now },
  });
  if (won.count === 0) return false;
  await enqueueEvent(tx, topics.ocppCharger, "reservation.expired", {
    chargePointId: key.chargePointId,
    reservationId: key.id,
    connectorId: reservation.connectorId,
    idTag: reservation.idTag,
    expiresAt: reservation.expiresAt.toISOString(),
    detectedBy,
  });
  return true;
}

/**
 * The reservation expiry job: every `intervalMs`, active reservations whose expiresAt has passed become
 * expired (`reservation.expired`, detectedBy central_system), 100 at a time. Every instance may run it: the
 * conditional update lets one of them expire each reservation.
 */
export function startReservationExpiry(opts: {
  db: Db;
  intervalMs: number;
  published: () => void;
  log: Logger;
}): { stop: () => Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    for (;;) {
      const due = await opts.db.reservation.findMany({
        where: { state: "active", expiresAt: { lte: new Date() } },
        orderBy: { expiresAt: "asc" },
        take: 100,
        select: { chargePointId: true, id: true },
      });
      let expired = 0;
      for (const key of due) {
        if (await opts.db.$transaction((tx) => expireReservation(tx, key, "central_system"))) expired++;
      }
      if (expired > 0) opts.published();
      if (due.length < 100) return;
    }
  };
  const run = () => {
    running = running
      .then(tick)
      .catch((err: unknown) => opts.log.error({ err }, "reservation expiry failed"));
  };
  run();
  const timer = setInterval(run, opts.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
