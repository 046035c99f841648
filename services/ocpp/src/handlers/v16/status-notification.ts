import { applyConnectorStatus } from "../../central/connectors.ts";
import type { ActionHandler } from "../../central/handler.ts";
import { v16ErrorCode, v16PortState } from "../../domain/connector-status.ts";
import { chargerTime } from "../../domain/timestamps.ts";
import { noteClockSkew } from "../shared/boot.ts";

interface StatusNotificationReq {
  connectorId: number;
  errorCode: string;
  status: string;
  info?: string;
  timestamp?: string;
  vendorId?: string;
  vendorErrorCode?: string;
}

/**
 * 1.6 StatusNotification: connector 0 is the charge point itself; the error code is kept as sent (NoError
 * clears it); Preparing and Finishing stay their own statuses.
 */
export const statusNotification: ActionHandler<StatusNotificationReq> = async (ctx, p) => {
  const time = chargerTime(p.timestamp, ctx.receivedAt, ctx.config.CLOCK_SKEW_TOLERANCE_SECONDS * 1000);
  if (p.timestamp) await noteClockSkew(ctx, time.skewMs);
  await applyConnectorStatus(ctx, {
    connectorId: p.connectorId,
    ocppStatus: p.status,
    port: v16PortState(p.status),
    errorCode: v16ErrorCode(p.errorCode),
    time,
    info: p.info ?? null,
    vendorErrorCode: p.vendorErrorCode ?? null,
  });
  return {};
};
