import {
  applyConnectorStatus,
  type V201StatusNotification,
  v201StatusUpdate,
} from "../../central/connectors.ts";
import type { ActionHandler } from "../../central/handler.ts";
import { chargerTime } from "../../domain/timestamps.ts";
import { noteClockSkew } from "../shared/boot.ts";

/**
 * 2.0.1 StatusNotification: the EVSE is the connector (its id is connector_id); the connector inside the
 * EVSE is kept as evse_connector_id. The charging state stays as TransactionEvent last set it.
 */
export const statusNotification: ActionHandler<V201StatusNotification> = async (ctx, p) => {
  const time = chargerTime(p.timestamp, ctx.receivedAt, ctx.config.CLOCK_SKEW_TOLERANCE_SECONDS * 1000);
  await noteClockSkew(ctx, time.skewMs);
  const existing = await ctx.tx.connector.findUnique({
    where: { chargePointId_connectorId: { chargePointId: ctx.charger.chargePointId, connectorId: p.evseId } },
  });
  await applyConnectorStatus(ctx, v201StatusUpdate(p, time, existing?.chargingState));
  return {};
};
