import { noteEnergyRegister } from "../../central/connectors.ts";
import type { ActionHandler } from "../../central/handler.ts";
import { emitReading } from "../../central/readings.ts";
import { parseSampledValues, type RawSampledValue } from "../../domain/meter-values.ts";
import { chargerTime } from "../../domain/timestamps.ts";

interface MeterValuesReq {
  evseId: number;
  meterValue: Array<{ timestamp: string; sampledValue: RawSampledValue[] }>;
}

/** 2.0.1 MeterValues (outside transactions): one reading per meterValue; EVSE 0 is the main meter. */
export const meterValues: ActionHandler<MeterValuesReq> = async (ctx, p) => {
  const tolerance = ctx.config.CLOCK_SKEW_TOLERANCE_SECONDS * 1000;
  for (const value of p.meterValue) {
    const time = chargerTime(value.timestamp, ctx.receivedAt, tolerance);
    const sample = parseSampledValues("2.0.1", value.sampledValue);
    await noteEnergyRegister(ctx, p.evseId, sample.energyImportWh);
    await emitReading(ctx, p.evseId, sample, time.effective);
  }
  return {};
};
