import type { ActionHandler } from "../../central/handler.ts";
import { emitReading } from "../../central/readings.ts";
import { useReservation } from "../../central/reservations.ts";
import { addTransactionEvent, openTransaction } from "../../central/transactions.ts";
import { chargerTime } from "../../domain/timestamps.ts";
import { authorizeIdTag } from "../shared/authorize.ts";

interface StartTransactionReq {
  connectorId: number;
  idTag: string;
  meterStart: number;
  reservationId?: number;
  timestamp: string;
}

/**
 * 1.6 StartTransaction: the transaction id is assigned here. A retry of the same start (same connector,
 * id tag, charger time and meter start — chargers re-send it after a lost answer, under another message
 * id) gets the same id and opens nothing new. The id tag is checked, and a transaction is opened whatever
 * its status (the charger stops it when told the tag is not Accepted; the stop is recorded too).
 */
export const startTransaction: ActionHandler<StartTransactionReq> = async (ctx, p) => {
  const time = chargerTime(p.timestamp, ctx.receivedAt, ctx.config.CLOCK_SKEW_TOLERANCE_SECONDS * 1000);
  const auth = await authorizeIdTag(ctx, p.idTag);
  const startKey = `${p.connectorId}|${p.idTag}|${time.chargerTime.toISOString()}|${p.meterStart}`;
  const { transaction, created } = await openTransaction(ctx, {
    connectorId: p.connectorId,
    ocppTransactionId: null,
    startKey,
    idTag: p.idTag,
    meterStartWh: p.meterStart,
    time,
  });
  if (created) {
    const sample = {
      context: "Transaction.Begin",
      energyImportWh: p.meterStart,
      voltage: {},
      current: {},
      skipped: [],
    };
    await addTransactionEvent(ctx, transaction, {
      eventType: "Started",
      seqNo: null,
      triggerReason: null,
      time,
      offline: false,
      sample,
      payload: p,
    });
    if (p.reservationId !== undefined) {
      await useReservation(ctx, {
        reservationId: p.reservationId,
        connectorId: p.connectorId,
        transactionId: String(transaction.id),
        idTag: p.idTag,
        startedAt: time.effective,
      });
    }
    await emitReading(ctx, p.connectorId, sample, time.effective);
  }
  return { transactionId: Number(transaction.id), idTagInfo: { status: auth.status } };
};
