import type { ActionHandler } from "../../central/handler.ts";
import { parseChargerTime } from "../../domain/timestamps.ts";

interface NotifyReportReq {
  requestId: number;
  generatedAt: string;
  seqNo: number;
  tbc?: boolean;
  reportData?: Array<{
    component: { name: string; instance?: string; evse?: { id: number; connectorId?: number } };
    variable: { name: string; instance?: string };
    variableAttribute: Array<{
      type?: string;
      value?: string;
      mutability?: string;
      persistent?: boolean;
      constant?: boolean;
    }>;
    variableCharacteristics?: {
      unit?: string;
      dataType: string;
      minLimit?: number;
      maxLimit?: number;
      valuesList?: string;
      supportsMonitoring: boolean;
    };
  }>;
}

/**
 * 2.0.1 NotifyReport (the answer to GetBaseReport / GetReport, in parts): every reported attribute of every
 * component variable becomes the charger's device_variable row for it (component, instance, EVSE,
 * variable, attribute type → value, mutability, characteristics), the newest report (generatedAt) winning — the
 * charger's device model, queryable (GET .../device-model). The part as sent stays in charger_log.
 */
export const notifyReport: ActionHandler<NotifyReportReq> = async (ctx, p) => {
  const chargePointId = ctx.charger.chargePointId;
  const reportedAt = parseChargerTime(p.generatedAt) ?? ctx.receivedAt;
  for (const entry of p.reportData ?? []) {
    const c = entry.variableCharacteristics;
    for (const attribute of entry.variableAttribute) {
      const key = {
        chargePointId,
        component: entry.component.name,
        componentInstance: entry.component.instance ?? "",
        evseId: entry.component.evse?.id ?? 0,
        evseConnectorId: entry.component.evse?.connectorId ?? 0,
        variable: entry.variable.name,
        variableInstance: entry.variable.instance ?? "",
        attributeType: attribute.type ?? "Actual",
      };
      const data = {
        value: attribute.value ?? null,
        mutability: attribute.mutability ?? null,
        persistent: attribute.persistent ?? null,
        constant: attribute.constant ?? null,
        dataType: c?.dataType ?? null,
        unit: c?.unit ?? null,
        minLimit: c?.minLimit ?? null,
        maxLimit: c?.maxLimit ?? null,
        valuesList: c?.valuesList ?? null,
        supportsMonitoring: c?.supportsMonitoring ?? null,
        requestId: p.requestId,
        reportedAt,
        receivedAt: ctx.receivedAt,
      };
      // the newest report wins: a part queued while offline that arrives late does not overwrite a newer one
      const updated = await ctx.tx.deviceVariable.updateMany({
        where: { ...key, reportedAt: { lte: reportedAt } },
        data,
      });
      if (updated.count === 0) {
        await ctx.tx.deviceVariable.createMany({ data: [{ ...key, ...data }], skipDuplicates: true });
      }
    }
  }
  await ctx.tx.chargerLog.create({
    data: { chargePointId, kind: "NotifyReport", receivedAt: ctx.receivedAt, payload: p as object },
  });
  return {};
};
