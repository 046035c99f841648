import { applyConnectorStatus } from "../../central/connectors.ts";
import type { ActionHandler } from "../../central/handler.ts";
import { v201ConnectorStatus } from "../../domain/connector-status.ts";
import { chargerTime } from "../../domain/timestamps.ts";
import { noteClockSkew } from "../shared/boot.ts";

interface StatusNotificationReq {
  timestamp: string;
  connectorStatus: string;
  evseId: number;
  connectorId: number;
}

/**
 * 2.0.1 StatusNotification: the EVSE is the connector (its id is connector_id); the connector inside the
 * EVSE is kept as evse_connector_id. The charging state stays as TransactionEvent last set it.
 */
export const statusNotification: ActionHandler<StatusNotificationReq> = async (ctx, p) => {
  const time = chargerTime(p.timestamp, ctx.receivedAt, ctx.config.CLOCK_SKEW_TOLERANCE_SECONDS * 1000);
  await noteClockSkew(ctx, time.skewMs);
  const connectorStatus = v201ConnectorStatus(p.connectorStatus);
  const existing = await ctx.tx.connector.findUnique({
    where: { chargePointId_connectorId: { chargePointId: ctx.charger.chargePointId, connectorId: p.evseId } },
  });
  // An EVSE that is available has no session: its charging state goes with it.
  const chargingState =
    connectorStatus === "occupied"
      ? ((existing?.chargingState as "charging" | null) ?? "ev_connected")
      : null;
  await applyConnectorStatus(ctx, {
    connectorId: p.evseId,
    ocppStatus: p.connectorStatus,
    port: { connectorStatus, chargingState },
    errorCode: null,
    time,
    evseConnectorId: p.connectorId,
  });
  return {};
};
