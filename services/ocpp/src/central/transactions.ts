import { type ChargingState, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import type { Sample } from "../domain/meter-values.ts";
import type { ChargerTime } from "../domain/timestamps.ts";
import type { ChargingTransaction } from "../generated/prisma/client.ts";
import type { CallContext } from "./handler.ts";

const wh = (value: number | null | undefined): number | null =>
  value === null || value === undefined ? null : Math.max(0, Math.round(value));

/** The id events and readings carry: the charger's id (1.6: our integer as a string). */
const ocppId = (t: ChargingTransaction) => t.ocppTransactionId?.replace(/^unknown:/, "") ?? String(t.id);

export interface StartInput {
  connectorId: number;
  ocppTransactionId: string | null;
  /** 1.6: what makes a retried StartTransaction the same one; null for 2.0.1. */
  startKey: string | null;
  idTag: string | null;
  meterStartWh: number | null;
  time: ChargerTime;
}

/**
 * Opens a transaction, or finds the one a retry of the same start opened (same start key): the retry gets
 * the same id. Publishes transaction.started once.
 */
export async function openTransaction(
  ctx: CallContext,
  input: StartInput,
): Promise<{ transaction: ChargingTransaction; created: boolean }> {
  const { tx, charger } = ctx;
  const chargePointId = charger.chargePointId;
  if (input.startKey) {
    const retried = await tx.chargingTransaction.findUnique({
      where: { chargePointId_startKey: { chargePointId, startKey: input.startKey } },
    });
    if (retried) return { transaction: retried, created: false };
  }
  let transaction = await tx.chargingTransaction.create({
    data: {
      chargePointId,
      connectorId: input.connectorId,
      ocppTransactionId: input.ocppTransactionId,
      startKey: input.startKey,
      idTag: input.idTag,
      meterStartWh: input.meterStartWh,
      lastMeterWh: input.meterStartWh,
      startedAt: input.time.chargerTime,
      startedReceivedAt: input.time.receivedAt,
      clockSkewed: input.time.skewMs !== null,
    },
  });
  if (input.ocppTransactionId === null) {
    // 1.6: the id is assigned here, and it is this row's id.
    transaction = await tx.chargingTransaction.update({
      where: { id: transaction.id },
      data: { ocppTransactionId: String(transaction.id) },
    });
  }
  await publishStarted(ctx, transaction);
  return { transaction, created: true };
}

export async function publishStarted(ctx: CallContext, t: ChargingTransaction): Promise<void> {
  await enqueueEvent(
    ctx.tx,
    topics.ocppTransaction,
    "transaction.started",
    {
      chargePointId: t.chargePointId,
      connectorId: t.connectorId,
      transactionId: ocppId(t),
      idTag: t.idTag,
      meterStartWh: wh(t.meterStartWh),
      startedAt: (t.startedAt ?? ctx.receivedAt).toISOString(),
      receivedAt: (t.startedReceivedAt ?? ctx.receivedAt).toISOString(),
    },
    { correlationId: ctx.correlationId },
  );
}

/** Stores one event of a transaction; false when this seqNo was already stored (a replay). */
export async function addTransactionEvent(
  ctx: CallContext,
  t: ChargingTransaction,
  event: {
    eventType: "Started" | "Updated" | "Ended";
    seqNo: number | null;
    triggerReason: string | null;
    time: ChargerTime;
    offline: boolean;
    sample: Sample | null;
    payload: unknown;
  },
): Promise<boolean> {
  if (event.seqNo !== null) {
    const seen = await ctx.tx.transactionEvent.findUnique({
      where: { transactionId_seqNo: { transactionId: t.id, seqNo: event.seqNo } },
    });
    if (seen) return false;
  }
  await ctx.tx.transactionEvent.create({
    data: {
      transactionId: t.id,
      eventType: event.eventType,
      seqNo: event.seqNo,
      triggerReason: event.triggerReason,
      chargerTime: event.time.chargerTime,
      receivedAt: event.time.receivedAt,
      offline: event.offline,
      meterWh: event.sample?.energyImportWh ?? null,
      powerW: event.sample?.powerW ?? null,
      payload: event.payload as object,
    },
  });
  return true;
}

/** A meter sample during a transaction: transaction.updated, and the newest meter value kept. */
export async function publishUpdated(
  ctx: CallContext,
  t: ChargingTransaction,
  sample: Sample | null,
  chargingState: ChargingState | null,
  at: Date,
): Promise<ChargingTransaction> {
  const meter = sample?.energyImportWh;
  const updated =
    meter !== undefined
      ? await ctx.tx.chargingTransaction.update({ where: { id: t.id }, data: { lastMeterWh: meter } })
      : t;
  await enqueueEvent(
    ctx.tx,
    topics.ocppTransaction,
    "transaction.updated",
    {
      chargePointId: t.chargePointId,
      connectorId: t.connectorId,
      transactionId: ocppId(t),
      meterWh: wh(meter),
      powerW: sample?.powerW === undefined ? null : Math.round(sample.powerW),
      chargingState,
      measuredAt: at.toISOString(),
    },
    { correlationId: ctx.correlationId },
  );
  return updated;
}

/**
 * Closes a transaction (whatever order its messages came in: a late Ended still closes it) and publishes
 * transaction.ended once; an already closed one is left as it is.
 */
export async function closeTransaction(
  ctx: CallContext,
  t: ChargingTransaction,
  end: { meterStopWh: number | null; stopReason: string | null; time: ChargerTime; idTag?: string | null },
): Promise<ChargingTransaction> {
  if (t.state === "ended") return t;
  const closed = await ctx.tx.chargingTransaction.update({
    where: { id: t.id },
    data: {
      state: "ended",
      meterStopWh: end.meterStopWh ?? t.lastMeterWh,
      lastMeterWh: end.meterStopWh ?? t.lastMeterWh,
      endedAt: end.time.chargerTime,
      endedReceivedAt: end.time.receivedAt,
      stopReason: end.stopReason,
      clockSkewed: t.clockSkewed || end.time.skewMs !== null,
    },
  });
  const stop = wh(closed.meterStopWh);
  const start = wh(closed.meterStartWh);
  await enqueueEvent(
    ctx.tx,
    topics.ocppTransaction,
    "transaction.ended",
    {
      chargePointId: closed.chargePointId,
      connectorId: closed.connectorId,
      transactionId: ocppId(closed),
      meterStopWh: stop,
      energyWh: stop !== null && start !== null && stop >= start ? stop - start : null,
      stopReason: closed.stopReason,
      endedAt: end.time.chargerTime.toISOString(),
      receivedAt: end.time.receivedAt.toISOString(),
      unknownStart: closed.orphan,
    },
    { correlationId: ctx.correlationId },
  );
  return closed;
}

/**
 * A transaction the service has not seen start (a 1.6 StopTransaction for an unknown id, a 2.0.1 Updated
 * or Ended before its Started): recorded as an orphan so the stop is still kept. 1.6 orphans get
 * `unknown:<id>` as their stored id so they never clash with ids this service assigns later.
 */
export async function orphanTransaction(
  ctx: CallContext,
  input: { storedId: string; connectorId: number; time: ChargerTime },
): Promise<ChargingTransaction> {
  const chargePointId = ctx.charger.chargePointId;
  const found = await ctx.tx.chargingTransaction.findUnique({
    where: { chargePointId_ocppTransactionId: { chargePointId, ocppTransactionId: input.storedId } },
  });
  if (found) return found;
  return ctx.tx.chargingTransaction.create({
    data: {
      chargePointId,
      connectorId: input.connectorId,
      ocppTransactionId: input.storedId,
      orphan: true,
      clockSkewed: input.time.skewMs !== null,
    },
  });
}
