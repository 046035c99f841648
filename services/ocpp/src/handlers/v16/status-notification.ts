import {
  applyConnectorStatus,
  type V16StatusNotification,
  v16StatusUpdate,
} from "../../central/connectors.ts";
import type { ActionHandler } from "../../central/handler.ts";
import { chargerTime } from "../../domain/timestamps.ts";
import { noteClockSkew } from "../shared/boot.ts";

/**
 * 1.6 StatusNotification: connector 0 is the charge point itself; the error code is kept as sent (NoError
 * clears it); Preparing and Finishing stay their own statuses.
 */
export const statusNotification: ActionHandler<V16StatusNotification> = async (ctx, p) => {
  const time = chargerTime(p.timestamp, ctx.receivedAt, ctx.config.CLOCK_SKEW_TOLERANCE_SECONDS * 1000);
  if (p.timestamp) await noteClockSkew(ctx, time.skewMs);
  await applyConnectorStatus(ctx, v16StatusUpdate(p, time));
  return {};
};
