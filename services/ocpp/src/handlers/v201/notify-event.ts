import type { ActionHandler } from "../../central/handler.ts";
import { parseChargerTime } from "../../domain/timestamps.ts";

interface ComponentType {
  name: string;
  instance?: string;
  evse?: { id: number; connectorId?: number };
}
interface NotifyEventReq {
  generatedAt: string;
  seqNo: number;
  tbc?: boolean;
  eventData: Array<{
    eventId: number;
    timestamp: string;
    trigger: string;
    cause?: number;
    actualValue: string;
    techCode?: string;
    techInfo?: string;
    cleared?: boolean;
    transactionId?: string;
    variableMonitoringId?: number;
    eventNotificationType: string;
    component: ComponentType;
    variable: { name: string; instance?: string };
  }>;
}

/**
 * 2.0.1 NotifyEvent: each eventData entry (a monitored variable crossing a threshold, a hard-wired alert,
 * a periodic value) becomes a device_event row — component, variable, the actual value, trigger, cleared,
 * tech code/info, the charger's times — queryable per charger, component and variable (GET .../events).
 * The message as sent stays in charger_log.
 */
export const notifyEvent: ActionHandler<NotifyEventReq> = async (ctx, p) => {
  const chargePointId = ctx.charger.chargePointId;
  const generatedAt = parseChargerTime(p.generatedAt) ?? ctx.receivedAt;
  await ctx.tx.deviceEvent.createMany({
    data: p.eventData.map((e) => ({
      chargePointId,
      eventId: e.eventId,
      eventAt: parseChargerTime(e.timestamp) ?? generatedAt,
      generatedAt,
      receivedAt: ctx.receivedAt,
      trigger: e.trigger,
      notificationType: e.eventNotificationType,
      cause: e.cause ?? null,
      actualValue: e.actualValue,
      cleared: e.cleared ?? false,
      techCode: e.techCode ?? null,
      techInfo: e.techInfo ?? null,
      transactionId: e.transactionId ?? null,
      variableMonitoringId: e.variableMonitoringId ?? null,
      component: e.component.name,
      componentInstance: e.component.instance ?? null,
      evseId: e.component.evse?.id ?? null,
      evseConnectorId: e.component.evse?.connectorId ?? null,
      variable: e.variable.name,
      variableInstance: e.variable.instance ?? null,
    })),
  });
  await ctx.tx.chargerLog.create({
    data: { chargePointId, kind: "NotifyEvent", receivedAt: ctx.receivedAt, payload: p as object },
  });
  return {};
};
