import type { ActionHandler } from "../../central/handler.ts";

/** 1.6 DiagnosticsStatusNotification: kept as the charge point's diagnostics status. */
export const diagnosticsStatusNotification: ActionHandler<{ status: string }> = async (ctx, p) => {
  await ctx.tx.chargePoint.update({
    where: { serialNumber: ctx.charger.chargePointId },
    data: { diagnosticsStatus: p.status },
  });
  return {};
};
