import type { ChargingState, ConnectorStatus } from "@energy/contracts";
import { topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import {
  type PortState,
  v16ErrorCode,
  v16PortState,
  v201ConnectorStatus,
} from "../domain/connector-status.ts";
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

/** A 1.6 StatusNotification's fields. */
export interface V16StatusNotification {
  connectorId: number;
  errorCode: string;
  status: string;
  info?: string;
  timestamp?: string;
  vendorId?: string;
  vendorErrorCode?: string;
}

/** A 2.0.1 StatusNotification's fields. */
export interface V201StatusNotification {
  timestamp: string;
  connectorStatus: string;
  evseId: number;
  connectorId: number;
}

/**
 * 1.6: connector 0 is the charge point itself; the error code is kept as sent (NoError clears it); Preparing
 * and Finishing stay their own statuses.
 */
export function v16StatusUpdate(p: V16StatusNotification, time: ChargerTime): StatusUpdate {
  return {
    connectorId: p.connectorId,
    ocppStatus: p.status,
    port: v16PortState(p.status),
    errorCode: v16ErrorCode(p.errorCode),
    time,
    info: p.info ?? null,
    vendorErrorCode: p.vendorErrorCode ?? null,
  };
}

/**
 * 2.0.1: the EVSE is the connector (its id is connector_id); the connector inside the EVSE is kept as
 * evse_connector_id. The charging state stays as TransactionEvent last set it (`storedChargingState`), and
 * an EVSE that is available has no session: its charging state goes with it.
 */
export function v201StatusUpdate(
  p: V201StatusNotification,
  time: ChargerTime,
  storedChargingState: string | null | undefined,
): StatusUpdate {
  const connectorStatus = v201ConnectorStatus(p.connectorStatus);
  const chargingState =
    connectorStatus === "occupied"
      ? ((storedChargingState as PortState["chargingState"]) ?? "ev_connected")
      : null;
  return {
    connectorId: p.evseId,
    ocppStatus: p.connectorStatus,
    port: { connectorStatus, chargingState },
    errorCode: null,
    time,
    evseConnectorId: p.connectorId,
  };
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
