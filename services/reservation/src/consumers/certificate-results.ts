import { topics } from "@energy/contracts";
import { defineSubscription, type Tx } from "../context.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Certificate results become the reservation's counters: a request moves from requested to succeeded or
 * failed once (a repeated or late result for the same request changes nothing), and its energy is added
 * to the reservation's succeeded or failed Wh. A failure after a success (or the reverse) moves the energy.
 */
async function settle(tx: Tx, requestId: string, to: "succeeded" | "failed", reason: string | null) {
  // Request ids are uuids here: another id is not one of ours (like an unknown uuid), and PostgreSQL would
  // refuse it as a uuid on every redelivery.
  if (!UUID.test(requestId)) return;
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

/** certificate.certificate.v1: the results; the topic's other events (requested, confirmed, claimed) are skipped. */
export const certificateResults = defineSubscription(topics.certificateCertificate, {
  "certificate.issued": ({ requestId }, { tx }) => settle(tx, requestId, "succeeded", null),
  "certificate.failed": ({ requestId, reason }, { tx }) => settle(tx, requestId, "failed", reason),
});
