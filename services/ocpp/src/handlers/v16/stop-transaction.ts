import { noteEnergyRegister } from "../../central/connectors.ts";
import type { ActionHandler } from "../../central/handler.ts";
import { emitReading } from "../../central/readings.ts";
import { addTransactionEvent, closeTransaction, orphanTransaction } from "../../central/transactions.ts";
import { parseSampledValues, type RawSampledValue } from "../../domain/meter-values.ts";
import { chargerTime } from "../../domain/timestamps.ts";
import { authorizeIdTag } from "../shared/authorize.ts";

interface StopTransactionReq {
  transactionId: number;
  meterStop: number;
  timestamp: string;
  idTag?: string;
  reason?: string;
  transactionData?: Array<{ timestamp: string; sampledValue: RawSampledValue[] }>;
}

/**
 * 1.6 StopTransaction. A stop for a transaction this service never saw start is still acknowledged and
 * recorded (as an orphan transaction: the charger would otherwise re-send it forever). The reason
 * defaults to Local, as the specification says.
 */
export const stopTransaction: ActionHandler<StopTransactionReq> = async (ctx, p) => {
  const tolerance = ctx.config.CLOCK_SKEW_TOLERANCE_SECONDS * 1000;
  const time = chargerTime(p.timestamp, ctx.receivedAt, tolerance);
  const chargePointId = ctx.charger.chargePointId;
  const known = await ctx.tx.chargingTransaction.findUnique({
    where: { chargePointId_ocppTransactionId: { chargePointId, ocppTransactionId: String(p.transactionId) } },
  });
  const transaction =
    known ?? (await orphanTransaction(ctx, { storedId: `unknown:${p.transactionId}`, connectorId: 0, time }));
  for (const value of p.transactionData ?? []) {
    const at = chargerTime(value.timestamp, ctx.receivedAt, tolerance);
    const sample = parseSampledValues("1.6", value.sampledValue);
    await addTransactionEvent(ctx, transaction, {
      eventType: "Updated",
      seqNo: null,
      triggerReason: sample.context,
      time: at,
      offline: false,
      sample,
      payload: value,
    });
  }
  const stopSample = {
    context: "Transaction.End",
    energyImportWh: p.meterStop,
    voltage: {},
    current: {},
    skipped: [],
  };
  await addTransactionEvent(ctx, transaction, {
    eventType: "Ended",
    seqNo: null,
    triggerReason: p.reason ?? "Local",
    time,
    offline: false,
    sample: stopSample,
    payload: { ...p, transactionData: undefined },
  });
  await closeTransaction(ctx, transaction, {
    meterStopWh: p.meterStop,
    stopReason: p.reason ?? "Local",
    time,
  });
  if (transaction.connectorId > 0) {
    await noteEnergyRegister(ctx, transaction.connectorId, p.meterStop);
    await emitReading(ctx, transaction.connectorId, stopSample, time.effective);
  }
  if (!p.idTag) return {};
  const auth = await authorizeIdTag(ctx, p.idTag);
  return { idTagInfo: { status: auth.status } };
};
