import { type EventPayload, topics } from "@energy/contracts";
import { AppError } from "@energy/service-kit";
import { defineBatchSubscription } from "../context.ts";
import type { Db } from "../db.ts";
import { verifyBatchSignature } from "../domain/signature.ts";
import { parseBatchBody } from "../ingest/batch-body.ts";
import type { Ingestor } from "../ingest/ingestor.ts";

type RawBatch = EventPayload<typeof topics.ingestionRaw, "batch.received">;

/**
 * Batches that trusted bridges put on ingestion.raw.v1. Each carries the gateway's ES256 signature
 * over its body; it is checked against the gateway's registered keys (from registry.identity.v1)
 * before anything in it is used. A batch with a bad signature or an unreadable body is refused whole:
 * stored and published on ingestion.telemetry-rejected.v1 like any refused reading. The offset is
 * committed once the batch's readings are on ingestion.telemetry.v1 (a redelivered batch publishes its
 * readings again; the telemetry store keeps each DER's reading at a given time once).
 */
export const rawBatches = defineBatchSubscription(topics.ingestionRaw, async (messages, { service }) => {
  for (const message of messages) {
    await applyRawBatch(
      service.db,
      service.ingestor,
      message.payload,
      service.config.BATCH_MAX_READINGS,
      message.envelope.id,
    );
  }
});

export async function applyRawBatch(
  db: Db,
  ingestor: Ingestor,
  batch: RawBatch,
  maxReadings: number,
  correlationId?: string,
) {
  const source = {
    gatewayId: batch.gatewayId,
    channel: "kafka" as const,
    receivedAt: new Date(batch.receivedAt),
    ...(correlationId ? { correlationId } : {}),
  };
  const keys = await db.identityKey.findMany({
    where: {
      identityId: batch.gatewayId,
      algorithm: "ES256",
      revokedAt: null,
      identityType: { in: ["gateway", "unknown"] },
    },
  });
  if (
    !verifyBatchSignature(
      batch.body,
      batch.signature,
      keys.map((k) => k.publicKey),
    )
  ) {
    const why =
      keys.length === 0
        ? `gateway ${batch.gatewayId} has no registered ES256 key (unknown, revoked, or not a gateway)`
        : `the signature does not verify against gateway ${batch.gatewayId}'s registered keys`;
    await ingestor.refuseBatch(
      source,
      [{ field: "signature", message: `signature: ${why}; the batch was not read` }],
      {
        body: batch.body.slice(0, 64 * 1024),
      },
    );
    return { accepted: 0, refusedWhole: true };
  }
  let items: unknown[];
  try {
    items = parseBatchBody(batch.body, maxReadings);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    await ingestor.refuseBatch(source, [{ field: "body", message: `body: ${error.message}` }], {
      body: batch.body.slice(0, 64 * 1024),
    });
    return { accepted: 0, refusedWhole: true };
  }
  const outcome = await ingestor.ingest(items, source);
  return { accepted: outcome.accepted, refusedWhole: false };
}
