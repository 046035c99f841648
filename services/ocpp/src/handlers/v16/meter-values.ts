import { noteEnergyRegister } from "../../central/connectors.ts";
import type { ActionHandler } from "../../central/handler.ts";
import { emitReading } from "../../central/readings.ts";
import { addTransactionEvent, publishUpdated } from "../../central/transactions.ts";
import { parseSampledValues, type RawSampledValue } from "../../domain/meter-values.ts";
import { chargerTime } from "../../domain/timestamps.ts";

interface MeterValuesReq {
  connectorId: number;
  transactionId?: number;
  meterValue: Array<{ timestamp: string; sampledValue: RawSampledValue[] }>;
}

/**
 * 1.6 MeterValues: each meterValue (one timestamp) becomes one reading of the connector's DER and, in a
 * transaction, a transaction.updated. Connector 0 is the charge point's main meter: no port DER.
 */
export const meterValues: ActionHandler<MeterValuesReq> = async (ctx, p) => {
  const tolerance = ctx.config.CLOCK_SKEW_TOLERANCE_SECONDS * 1000;
  let transaction =
    p.transactionId === undefined
      ? null
      : await ctx.tx.chargingTransaction.findUnique({
          where: {
            chargePointId_ocppTransactionId: {
              chargePointId: ctx.charger.chargePointId,
              ocppTransactionId: String(p.transactionId),
            },
          },
        });
  for (const value of p.meterValue) {
    const time = chargerTime(value.timestamp, ctx.receivedAt, tolerance);
    const sample = parseSampledValues("1.6", value.sampledValue);
    await noteEnergyRegister(ctx, p.connectorId, sample.energyImportWh);
    if (transaction) {
      await addTransactionEvent(ctx, transaction, {
        eventType: "Updated",
        seqNo: null,
        triggerReason: sample.context,
        time,
        offline: false,
        sample,
        payload: value,
      });
      if (transaction.state === "active") {
        transaction = await publishUpdated(ctx, transaction, sample, null, time.effective);
      }
    }
    await emitReading(ctx, p.connectorId, sample, time.effective);
  }
  return {};
};
