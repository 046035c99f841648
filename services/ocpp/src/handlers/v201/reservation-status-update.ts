import type { ActionHandler } from "../../central/handler.ts";
import { expireReservation } from "../../central/reservations.ts";

interface ReservationStatusUpdateReq {
  reservationId: number;
  reservationUpdateStatus: "Expired" | "Removed";
}

/**
 * 2.0.1 ReservationStatusUpdate: the charging station ended a reservation on its own. Expired: as if its
 * expiry passed here (`reservation.expired`, detectedBy charger; once, whichever comes first). Removed (the
 * station dropped it, e.g. its EVSE became unavailable): state removed. An unknown reservation, or one
 * already ended, changes nothing; the answer is empty either way.
 */
export const reservationStatusUpdate: ActionHandler<ReservationStatusUpdateReq> = async (ctx, p) => {
  const key = { chargePointId: ctx.charger.chargePointId, id: p.reservationId };
  if (p.reservationUpdateStatus === "Expired") {
    await expireReservation(ctx.tx, key, "charger", ctx.receivedAt);
  } else {
    await ctx.tx.reservation.updateMany({
      where: { ...key, state: "active" },
      data: { state: "removed", endedAt: ctx.receivedAt },
    });
  }
  return {};
};
