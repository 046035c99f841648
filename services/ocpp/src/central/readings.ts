import { topics } from "@energy/contracts";
import { enqueueEvents, event, type OutgoingEvent } from "@energy/kafka";
import { derForConnector } from "../domain/connector-der.ts";
import type { PortState } from "../domain/connector-status.ts";
import type { Sample } from "../domain/meter-values.ts";
import { powerBands } from "../domain/power-limits.ts";
import { buildReading } from "../domain/readings.ts";
import { type LimitRow, limitAt, limitsInForce } from "./charging-limits.ts";
import type { CallContext } from "./handler.ts";

/** What a reading of a connector is made from, besides the sample: read in the call's transaction. */
export interface ReadingRows {
  /** the charger device's ev_charger_port / v2x_charger DERs */
  ders: ReadonlyArray<{ id: string; name: string; ratedPowerW: number | null }>;
  connector: { status: string; chargingState: string | null } | null;
  /**
   * charging_limit rows of the connector and of connector 0 (the whole charge point, whose limit applies to
   * every connector) that were in force at some time of the readings: each reading takes those of its time
   */
  limits: readonly LimitRow[];
  /** the connector's open transaction */
  open: { id: bigint | number | string; meterStartWh: number | null } | null;
}

/**
 * The reading.measured event of a connector (null for connector 0 or a connector without a DER): the
 * connector's current status (or `port`), the open transaction and the power limit in force carried by
 * every reading. Pure: `emitReading` and the batched MeterValues (batched-calls.ts) load the rows.
 */
export function readingEvent(
  ctx: Pick<CallContext, "config" | "charger" | "correlationId">,
  connectorId: number,
  rows: ReadingRows,
  sample: Sample | null,
  at: Date,
  port?: PortState,
): OutgoingEvent | null {
  if (connectorId < 1) return null;
  const { charger } = ctx;
  const der = derForConnector(rows.ders, connectorId);
  if (!der) return null;
  const { connector, open } = rows;
  const state: PortState = port ?? {
    connectorStatus: (connector?.status as PortState["connectorStatus"]) ?? "unknown",
    chargingState: (connector?.chargingState as PortState["chargingState"]) ?? null,
  };
  const bands = powerBands({
    connectorStatus: state.connectorStatus,
    ratedPowerW: der.ratedPowerW ?? ctx.config.DEFAULT_RATED_POWER_W,
    minChargeW: ctx.config.MIN_CHARGE_POWER_W,
    // the lower of the connector's own limit and the whole charge point's in force at the reading's time
    limitW: limitAt(rows.limits, connectorId, at),
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
  return event(
    topics.ocppCharger,
    "reading.measured",
    { chargePointId: charger.chargePointId, connectorId, derId: der.id, reading },
    { correlationId: ctx.correlationId },
  );
}

/**
 * Puts an ev_charger_port (or v2x_charger) reading of a connector into the outbox, addressed to the
 * connector's DER, in the call's transaction. The connector's current status, the open transaction and
 * the power limits in force at the reading's time are read here so every reading carries them. A connector without a DER in
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
  if (!derForConnector(ders, connectorId)) return false;
  const [connector, limits, open] = await Promise.all([
    tx.connector.findUnique({
      where: { chargePointId_connectorId: { chargePointId: charger.chargePointId, connectorId } },
    }),
    limitsInForce(tx, charger.chargePointId, connectorId, at, at),
    tx.chargingTransaction.findFirst({
      where: { chargePointId: charger.chargePointId, connectorId, state: "active" },
      orderBy: { id: "desc" },
    }),
  ]);
  const reading = readingEvent(ctx, connectorId, { ders, connector, limits, open }, sample, at, port);
  if (!reading) return false;
  await enqueueEvents(tx, [reading]);
  return true;
}
