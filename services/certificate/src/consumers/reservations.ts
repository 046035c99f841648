import { type EventPayload, topics } from "@energy/contracts";
import type { HandlerContext } from "@energy/kafka";
import { keccak256, toUtf8Bytes } from "ethers";
import { type CertificateContext, defineSubscription, type Tx } from "../context.ts";
import { canonicalJson } from "../domain/canonical-json.ts";
import type { Prisma } from "../generated/prisma/client.ts";

type T = typeof topics.reservationReservation;

/** Hash of a reservation's device list as the chain's reservation log keeps it: keccak256 of the sorted ids' canonical JSON. */
export const devicesHashOf = (deviceIds: readonly string[]) =>
  keccak256(toUtf8Bytes(canonicalJson([...deviceIds].sort())));

/**
 * reservation.reservation.v1 → the reservation's latest snapshot (who may claim its certificates) and one
 * on-chain reservation log entry per event (id, buyer address, hash of the device list, period), queued
 * for the chain sender in the same transaction. Replays change nothing (the entry is keyed by envelope id).
 */
const upsert =
  (status: "created" | "updated") =>
  async (r: EventPayload<T, "reservation.created">, ctx: HandlerContext<Tx, CertificateContext>) => {
    const { tx } = ctx;
    const data = {
      buyerOrgId: r.buyerOrgId,
      buyerAddress: r.buyerAddress,
      status: r.status,
      snapshot: r as unknown as Prisma.InputJsonValue,
      updatedAt: new Date(ctx.envelope.occurredAt),
    };
    await tx.reservation.upsert({
      where: { id: r.reservationId },
      create: { id: r.reservationId, ...data },
      update: data,
    });
    await tx.reservationLog.create({
      data: {
        eventId: ctx.envelope.id,
        reservationId: r.reservationId,
        status,
        buyerAddress: r.buyerAddress,
        devicesHash: devicesHashOf(r.deviceIds),
        periodStart: new Date(r.start),
        periodEnd: new Date(r.end),
      },
    });
    setImmediate(ctx.service.nudge);
  };

export const reservations = defineSubscription(topics.reservationReservation, {
  "reservation.created": upsert("created"),
  "reservation.updated": upsert("updated"),
  "reservation.ended": async (e, ctx) => {
    const { tx } = ctx;
    const known = await tx.reservation.findUnique({ where: { id: e.reservationId } });
    // Without its snapshot there is no buyer address to log; the created event always comes first
    // on the reservation's key, so this only happens to a reservation created before this service.
    if (!known?.buyerAddress) return;
    const snapshot = known.snapshot as { start: string; end: string };
    await tx.reservation.update({ where: { id: e.reservationId }, data: { status: "ended" } });
    await tx.reservationLog.create({
      data: {
        eventId: ctx.envelope.id,
        reservationId: e.reservationId,
        status: "ended",
        buyerAddress: known.buyerAddress,
        devicesHash: devicesHashOf(e.deviceIds),
        periodStart: new Date(snapshot.start),
        periodEnd: new Date(e.endedAt),
      },
    });
    setImmediate(ctx.service.nudge);
  },
});
