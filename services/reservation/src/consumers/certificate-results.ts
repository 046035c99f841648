import type { EventPayload, topics } from "@energy/contracts";
import type { Subscription } from "@energy/kafka";
import { inTx, type Tx } from "./tx.ts";

type T = typeof topics.certificateCertificate;

/**
 * Certificate results become the reservation's counters: a request moves from requested to succeeded or
 * failed once (a repeated or late result for the same request changes nothing), and its energy is added
 * to the reservation's succeeded or failed Wh. A failure after a success (or the reverse) moves the energy.
 */
async function settle(tx: Tx, requestId: string, to: "succeeded" | "failed", reason: string | null) {
  const window = await tx.issuanceWindow.findUnique({ where: { requestId } });
  if (!window || window.status === to) return;
  const from = window.status;
  await tx.issuanceWindow.update({ where: { requestId }, data: { status: to, failureReason: reason } });
  const energy = window.energyWh;
  await tx.reservation.update({
    where: { id: window.reservationId },
    data: {
      ...(to === "succeeded" ? { succeededWh: { increment: energy } } : { failedWh: { increment: energy } }),
      ...(from === "succeeded" ? { succeededWh: { decrement: energy } } : {}),
      ...(from === "failed" ? { failedWh: { decrement: energy } } : {}),
    },
  });
}

export const certificateResults: Subscription = {
  topic: "certificate.certificate.v1",
  handlers: {
    "certificate.issued": inTx((tx, p: EventPayload<T, "certificate.issued">) =>
      settle(tx, p.requestId, "succeeded", null),
    ),
    "certificate.failed": inTx((tx, p: EventPayload<T, "certificate.failed">) =>
      settle(tx, p.requestId, "failed", p.reason),
    ),
  },
};
