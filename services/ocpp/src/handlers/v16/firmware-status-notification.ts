import type { ActionHandler } from "../../central/handler.ts";

/** 1.6 FirmwareStatusNotification: kept as the charge point's firmware status. */
export const firmwareStatusNotification: ActionHandler<{ status: string }> = async (ctx, p) => {
  await ctx.tx.chargePoint.update({
    where: { serialNumber: ctx.charger.chargePointId },
    data: { firmwareStatus: p.status },
  });
  return {};
};
