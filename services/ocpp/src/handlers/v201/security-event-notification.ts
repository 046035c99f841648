import type { ActionHandler } from "../../central/handler.ts";

/** 2.0.1 SecurityEventNotification (e.g. a firmware or tamper event): kept in the charger's log. */
export const securityEventNotification: ActionHandler<{
  type: string;
  timestamp: string;
  techInfo?: string;
}> = async (ctx, p) => {
  await ctx.tx.chargerLog.create({
    data: {
      chargePointId: ctx.charger.chargePointId,
      kind: "SecurityEventNotification",
      receivedAt: ctx.receivedAt,
      payload: p as object,
    },
  });
  return {};
};
