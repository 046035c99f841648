import { applyChargingState, noteEnergyRegister } from "../../central/connectors.ts";
import type { ActionHandler } from "../../central/handler.ts";
import { emitReading } from "../../central/readings.ts";
import { useReservation } from "../../central/reservations.ts";
import {
  addTransactionEvent,
  closeTransaction,
  openTransaction,
  orphanTransaction,
  publishStarted,
  publishUpdated,
} from "../../central/transactions.ts";
import { v201ChargingState } from "../../domain/connector-status.ts";
import { parseSampledValues, type RawSampledValue, type Sample } from "../../domain/meter-values.ts";
import { chargerTime } from "../../domain/timestamps.ts";
import { authorizeIdTag } from "../shared/authorize.ts";

interface TransactionEventReq {
  eventType: "Started" | "Updated" | "Ended";
  timestamp: string;
  triggerReason: string;
  seqNo: number;
  offline?: boolean;
  reservationId?: number;
  transactionInfo: { transactionId: string; chargingState?: string; stoppedReason?: string };
  idToken?: { idToken: string; type: string };
  evse?: { id: number; connectorId?: number };
  meterValue?: Array<{ timestamp: string; sampledValue: RawSampledValue[] }>;
}

/** The meter value that gives the register at the start or end (its context), or the last one. */
function registerOf(samples: Sample[], context: string): number | null {
  const match = samples.find((s) => s.context === context && s.energyImportWh !== undefined);
  const any = samples.findLast((s) => s.energyImportWh !== undefined);
  return (match ?? any)?.energyImportWh ?? null;
}

/**
 * 2.0.1 TransactionEvent. The charger's seqNo gives the order, not arrival: events queued while offline
 * may come late or out of order. Each (transaction, seqNo) is applied once. An Ended closes its
 * transaction whenever it arrives; an Updated older than the newest applied one only adds its meter
 * values; a Started that arrives after other events fills in the start (and the transaction is no longer
 * an orphan).
 */
export const transactionEvent: ActionHandler<TransactionEventReq> = async (ctx, p) => {
  const tolerance = ctx.config.CLOCK_SKEW_TOLERANCE_SECONDS * 1000;
  const time = chargerTime(p.timestamp, ctx.receivedAt, tolerance);
  const chargePointId = ctx.charger.chargePointId;
  const ocppTransactionId = p.transactionInfo.transactionId;
  const samples = (p.meterValue ?? []).map((mv) => ({
    time: chargerTime(mv.timestamp, ctx.receivedAt, tolerance),
    sample: parseSampledValues("2.0.1", mv.sampledValue),
  }));
  const idTag = p.idToken?.idToken ?? null;

  let transaction = await ctx.tx.chargingTransaction.findUnique({
    where: { chargePointId_ocppTransactionId: { chargePointId, ocppTransactionId } },
  });
  const connectorId = p.evse?.id ?? transaction?.connectorId ?? 0;
  if (!transaction && p.eventType === "Started") {
    const meterStartWh = registerOf(
      samples.map((s) => s.sample),
      "Transaction.Begin",
    );
    ({ transaction } = await openTransaction(ctx, {
      connectorId,
      ocppTransactionId,
      startKey: null,
      idTag,
      meterStartWh,
      time,
    }));
  } else if (!transaction) {
    transaction = await orphanTransaction(ctx, { storedId: ocppTransactionId, connectorId, time });
  } else if (p.eventType === "Started" && transaction.orphan) {
    // The start arrives after later events of the same transaction: fill it in.
    transaction = await ctx.tx.chargingTransaction.update({
      where: { id: transaction.id },
      data: {
        orphan: false,
        connectorId,
        idTag,
        startedAt: time.chargerTime,
        startedReceivedAt: time.receivedAt,
        meterStartWh: registerOf(
          samples.map((s) => s.sample),
          "Transaction.Begin",
        ),
      },
    });
    await publishStarted(ctx, transaction);
  }
  if (transaction.connectorId === 0 && connectorId > 0) {
    transaction = await ctx.tx.chargingTransaction.update({
      where: { id: transaction.id },
      data: { connectorId },
    });
  }

  const fresh = await addTransactionEvent(ctx, transaction, {
    eventType: p.eventType,
    seqNo: p.seqNo,
    triggerReason: p.triggerReason,
    time,
    offline: p.offline ?? false,
    sample: samples.at(-1)?.sample ?? null,
    payload: p,
  });
  const auth = idTag ? await authorizeIdTag(ctx, idTag) : null;
  const answer = auth ? { idTokenInfo: { status: auth.status } } : {};
  if (!fresh) return answer; // this seqNo was applied before
  if (p.reservationId !== undefined) {
    // the transaction started on a reservation (its first event naming it uses it up)
    await useReservation(ctx, {
      reservationId: p.reservationId,
      connectorId: transaction.connectorId,
      transactionId: ocppTransactionId,
      idTag,
      startedAt: transaction.startedAt ?? time.effective,
    });
  }

  const newest = transaction.lastSeqNo === null || p.seqNo > transaction.lastSeqNo;
  const chargingState = v201ChargingState(p.transactionInfo.chargingState);
  if (newest) {
    transaction = await ctx.tx.chargingTransaction.update({
      where: { id: transaction.id },
      data: { lastSeqNo: p.seqNo, ...(chargingState ? { chargingState } : {}) },
    });
    if (chargingState && transaction.connectorId > 0 && transaction.state === "active") {
      await applyChargingState(ctx, transaction.connectorId, chargingState, "occupied");
    }
  }
  if (p.eventType === "Updated" && newest && transaction.state === "active") {
    transaction = await publishUpdated(
      ctx,
      transaction,
      samples.at(-1)?.sample ?? null,
      chargingState,
      time.effective,
    );
  }
  if (p.eventType === "Ended") {
    const stop = registerOf(
      samples.map((s) => s.sample),
      "Transaction.End",
    );
    transaction = await closeTransaction(ctx, transaction, {
      meterStopWh: stop,
      stopReason: p.transactionInfo.stoppedReason ?? "Local",
      time,
    });
  }
  for (const { time: at, sample } of samples) {
    await noteEnergyRegister(ctx, transaction.connectorId, sample.energyImportWh);
    await emitReading(ctx, transaction.connectorId, sample, at.effective);
  }
  return answer;
};
