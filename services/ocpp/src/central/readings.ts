import { topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import { derForConnector } from "../domain/connector-der.ts";
import type { PortState } from "../domain/connector-status.ts";
import type { Sample } from "../domain/meter-values.ts";
import { powerBands } from "../domain/power-limits.ts";
import { buildReading } from "../domain/readings.ts";
import { limitInForce } from "./charging-limits.ts";
import type { CallContext } from "./handler.ts";

/**
 * Puts an ev_charger_port (or v2x_charger) reading of a connector into the outbox, addressed to the
 * connector's DER, in the call's transaction. The connector's current status, the open transaction and
 * the power limit in force at the reading's time are read here so every reading carries them. A connector without a DER in
 * the registry gets no reading (see domain/connector-der.ts).
 */
export async function emitReading(
  ctx: CallContext,
  connectorId: number,
  sample: Sample | null,
  at: Date,
  port?: PortState,
): Promise<boolean> {
  if (connectorId < 1) return false;
  const { tx, charger } = ctx;
  const ders = await tx.portDer.findMany({ where: { deviceId: charger.chargePointId } });
  const der = derForConnector(ders, connectorId);
  if (!der) return false;
  const [connector, limitW, open] = await Promise.all([
    tx.connector.findUnique({
      where: { chargePointId_connectorId: { chargePointId: charger.chargePointId, connectorId } },
    }),
    // the limit in force at the reading's time (charging_limit), the connector's or the whole charger's
    limitInForce(tx, charger.chargePointId, connectorId, at),
    tx.chargingTransaction.findFirst({
      where: { chargePointId: charger.chargePointId, connectorId, state: "active" },
      orderBy: { id: "desc" },
    }),
  ]);
  const state: PortState = port ?? {
    connectorStatus: (connector?.status as PortState["connectorStatus"]) ?? "unknown",
    chargingState: (connector?.chargingState as PortState["chargingState"]) ?? null,
  };
  const bands = powerBands({
    connectorStatus: state.connectorStatus,
    ratedPowerW: der.ratedPowerW ?? ctx.config.DEFAULT_RATED_POWER_W,
    minChargeW: ctx.config.MIN_CHARGE_POWER_W,
    limitW,
    bidirectional: charger.deviceType === "v2x_charger",
  });
  const reading = buildReading({
    deviceType: charger.deviceType,
    make: charger.make,
    timestampMs: at.getTime(),
    port: state,
    sample,
    session: open ? { id: Number(open.id), meterStartWh: open.meterStartWh } : null,
    bands,
  });
  await enqueueEvent(
    tx,
    topics.ocppCharger,
    "reading.measured",
    { chargePointId: charger.chargePointId, connectorId, derId: der.id, reading },
    { correlationId: ctx.correlationId },
  );
  return true;
}
