import type { ActionHandler } from "../../central/handler.ts";

/** 2.0.1 NotifyReport (answers GetBaseReport, in parts): each part is kept in the charger's log. */
export const notifyReport: ActionHandler<{
  requestId: number;
  generatedAt: string;
  seqNo: number;
  tbc?: boolean;
}> = async (ctx, p) => {
  await ctx.tx.chargerLog.create({
    data: {
      chargePointId: ctx.charger.chargePointId,
      kind: "NotifyReport",
      receivedAt: ctx.receivedAt,
      payload: p as object,
    },
  });
  return {};
};
