import type { ChargingState, ConnectorStatus } from "@energy/contracts";
import { topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import type { PortState } from "../domain/connector-status.ts";
import type { ChargerTime } from "../domain/timestamps.ts";
import type { CallContext } from "./handler.ts";
import { emitReading } from "./readings.ts";

export interface StatusUpdate {
  connectorId: number;
  ocppStatus: string;
  port: PortState;
  errorCode: string | null;
  time: ChargerTime;
  evseConnectorId?: number;
  info?: string | null;
  vendorErrorCode?: string | null;
}

/**
 * Applies a connector's status in the charger's order: a status older (by the charger's clock) than the
 * one stored, e.g. queued while offline and sent after a newer one, is kept out. A change is published
 * as connector.status_changed and, for a real connector, as a reading; connector 0 is the charge point's
 * own status (its `status` column).
 */
export async function applyConnectorStatus(ctx: CallContext, update: StatusUpdate): Promise<void> {
  const { tx, charger } = ctx;
  const key = { chargePointId: charger.chargePointId, connectorId: update.connectorId };
  const existing = await tx.connector.findUnique({ where: { chargePointId_connectorId: key } });
  if (existing?.statusAt && existing.statusAt > update.time.effective) return;
  const data = {
    status: update.port.connectorStatus,
    chargingState: update.port.chargingState,
    ocppStatus: update.ocppStatus,
    errorCode: update.errorCode,
    statusAt: update.time.effective,
    ...(update.evseConnectorId !== undefined ? { evseConnectorId: update.evseConnectorId } : {}),
    ...(update.info !== undefined ? { info: update.info } : {}),
    ...(update.vendorErrorCode !== undefined ? { vendorErrorCode: update.vendorErrorCode } : {}),
  };
  await tx.connector.upsert({
    where: { chargePointId_connectorId: key },
    create: { ...key, ...data },
    update: data,
  });
  if (update.connectorId === 0) {
    await tx.chargePoint.update({
      where: { serialNumber: charger.chargePointId },
      data: { status: update.port.connectorStatus },
    });
  }
  const changed =
    !existing ||
    existing.status !== data.status ||
    existing.ocppStatus !== data.ocppStatus ||
    existing.errorCode !== data.errorCode ||
    existing.chargingState !== data.chargingState;
  if (!changed) return;
  await enqueueEvent(
    tx,
    topics.ocppCharger,
    "connector.status_changed",
    {
      chargePointId: charger.chargePointId,
      connectorId: update.connectorId,
      connectorStatus: update.port.connectorStatus,
      chargingState: update.port.chargingState,
      ocppStatus: update.ocppStatus,
      errorCode: update.errorCode,
      statusAt: update.time.effective.toISOString(),
      receivedAt: update.time.receivedAt.toISOString(),
    },
    { correlationId: ctx.correlationId },
  );
  await emitReading(ctx, update.connectorId, null, update.time.effective, update.port);
}

/** Sets a connector's charging state only (2.0.1 TransactionEvent carries it apart from the status). */
export async function applyChargingState(
  ctx: CallContext,
  connectorId: number,
  chargingState: ChargingState | null,
  connectorStatus?: ConnectorStatus,
): Promise<void> {
  const key = { chargePointId: ctx.charger.chargePointId, connectorId };
  await ctx.tx.connector.upsert({
    where: { chargePointId_connectorId: key },
    create: { ...key, status: connectorStatus ?? "occupied", chargingState },
    update: { chargingState, ...(connectorStatus ? { status: connectorStatus } : {}) },
  });
}

/** Keeps the last energy register seen on a connector (null stays null: unknown is not 0). */
export async function noteEnergyRegister(ctx: CallContext, connectorId: number, wh: number | undefined) {
  if (wh === undefined || connectorId < 1) return;
  const key = { chargePointId: ctx.charger.chargePointId, connectorId };
  await ctx.tx.connector.upsert({
    where: { chargePointId_connectorId: key },
    create: { ...key, status: "unknown", energyRegisterWh: wh },
    update: { energyRegisterWh: wh },
  });
}
