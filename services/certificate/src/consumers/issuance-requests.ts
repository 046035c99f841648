import { randomUUID } from "node:crypto";
import { type IssuanceRequest, issuanceRequestsOf, topics } from "@energy/contracts";
import { enqueueEvent, type HandlerContext } from "@energy/kafka";
import { issuanceKeyOf } from "../chain/registry.ts";
import { type CertificateContext, defineSubscription, type Tx } from "../context.ts";
import { checkTargetAddress } from "../domain/address.ts";
import { buildDocument, documentHash } from "../domain/document.ts";
import type { Prisma } from "../generated/prisma/client.ts";

/**
 * reservation.issuance-request.v1 → a certificate row with its canonical document and hash, queued for
 * the chain sender, and certificate.requested, all in the runner's transaction (which also records the
 * envelope id). Decisions:
 *  - the transaction's gas tier is the request's `gasTier`, else DEFAULT_GAS_TIER;
 *  - a request id seen before changes nothing (reservation republishes the same request under the same
 *    id after a crash);
 *  - a payload the contract refuses never reaches here: the runner sends it to the DLQ;
 *  - a target address that cannot hold tokens (bad EIP-55 checksum, the zero address) is a valid message
 *    with an impossible request: the certificate ends failed with the reason, published for the
 *    reservation's counters, and nothing is sent to the chain;
 *  - `issuance.windows-requested` (many windows of one reservation in one record, what the reservation
 *    service writes) is each of its windows' requests in order, exactly as an `issuance.requested` of it
 *    (`issuanceRequestsOf`), all in the record's one transaction: one certificate per window, and a
 *    window whose request id was seen before changes nothing.
 */
export const issuanceRequests = defineSubscription(topics.reservationIssuanceRequest, {
  "issuance.requested": (request, ctx) => issueRequest(request, ctx),
  "issuance.windows-requested": async (batch, ctx) => {
    for (const request of issuanceRequestsOf(batch)) await issueRequest(request, ctx);
  },
});

/** One window's request → its certificate (once per request id), its log entries and events. */
async function issueRequest(
  request: IssuanceRequest,
  ctx: HandlerContext<Tx, CertificateContext>,
): Promise<void> {
  const { tx, service } = ctx;
  const opts = {
    chainId: service.chain.chainId,
    // the request's own tier, else the configured one
    tier: request.gasTier ?? service.config.DEFAULT_GAS_TIER,
    nudge: service.nudge,
  };
  const known = await tx.certificate.findUnique({ where: { requestId: request.requestId } });
  if (known) return;
  const certificateId = randomUUID();
  const document = buildDocument(request, certificateId);
  const hash = documentHash(document);
  const address = checkTargetAddress(request.buyerAddress);
  const correlationId = ctx.envelope.correlationId;
  const causationId = ctx.envelope.id;
  await tx.certificate.create({
    data: {
      id: certificateId,
      requestId: request.requestId,
      reservationId: request.reservationId,
      buyerOrgId: request.buyerOrgId,
      ownerAddress: address.ok ? address.address : request.buyerAddress,
      deviceIds: document.deviceIds,
      periodStart: new Date(request.window.start),
      periodEnd: new Date(request.window.end),
      energyWh: BigInt(request.energyWh),
      document: document as unknown as Prisma.InputJsonValue,
      documentHash: hash,
      issuanceKey: issuanceKeyOf(request.requestId),
      tier: opts.tier,
      status: address.ok ? "requested" : "failed",
      failureReason: address.ok ? null : address.reason,
      correlationId,
    },
  });
  const ref = { certificateId, requestId: request.requestId, reservationId: request.reservationId };
  const logRef = { certificateId, requestId: request.requestId };
  await tx.issuanceLog.create({
    data: { ...logRef, event: "requested", detail: { documentHash: hash, energyWh: request.energyWh } },
  });
  await enqueueEvent(
    tx,
    topics.certificateCertificate,
    "certificate.requested",
    {
      ...ref,
      buyerOrgId: request.buyerOrgId,
      ownerAddress: request.buyerAddress,
      energyWh: request.energyWh,
      window: request.window,
      documentHash: hash,
      tier: opts.tier,
    },
    { correlationId, causationId },
  );
  if (!address.ok) {
    await tx.issuanceLog.create({
      data: { ...logRef, event: "failed", detail: { reason: address.reason } },
    });
    await enqueueEvent(
      tx,
      topics.certificateCertificate,
      "certificate.failed",
      {
        ...ref,
        txHash: null,
        chainId: opts.chainId,
        energyWh: request.energyWh,
        reason: address.reason,
      },
      { correlationId, causationId },
    );
    return;
  }
  setImmediate(opts.nudge); // after the commit, most likely; the sender polls anyway
}
