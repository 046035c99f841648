import type { ActionHandler } from "../../central/handler.ts";

interface NotifyEventReq {
  generatedAt: string;
  seqNo: number;
  tbc?: boolean;
  eventData: Array<{
    eventId: number;
    trigger: string;
    actualValue: string;
    component: { name: string };
    variable: { name: string };
  }>;
}

/** 2.0.1 NotifyEvent: device model events (faults, alerts) are kept in the charger's log. */
export const notifyEvent: ActionHandler<NotifyEventReq> = async (ctx, p) => {
  await ctx.tx.chargerLog.create({
    data: {
      chargePointId: ctx.charger.chargePointId,
      kind: "NotifyEvent",
      receivedAt: ctx.receivedAt,
      payload: p as object,
    },
  });
  return {};
};
