import { topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import type { CallContext } from "../../central/handler.ts";
import { classifySecurityEvent } from "../../domain/security-events.ts";
import { parseChargerTime } from "../../domain/timestamps.ts";

/**
 * A SecurityEventNotification (2.0.1; 1.6 with the security extension): a security_event row (the type,
 * whether OCPP's list marks it critical, the charger's time and the receive time, the tech info) and
 * `security_event.reported` on ocpp.charger.v1. The raw message also stays in charger_log.
 */
export async function recordSecurityEvent(
  ctx: CallContext,
  p: { type: string; timestamp: string; techInfo?: string },
): Promise<void> {
  const { critical } = classifySecurityEvent(p.type);
  const occurredAt = parseChargerTime(p.timestamp) ?? ctx.receivedAt;
  const chargePointId = ctx.charger.chargePointId;
  const techInfo = p.techInfo ?? null;
  await ctx.tx.securityEvent.create({
    data: { chargePointId, type: p.type, critical, occurredAt, receivedAt: ctx.receivedAt, techInfo },
  });
  await ctx.tx.chargerLog.create({
    data: {
      chargePointId,
      kind: "SecurityEventNotification",
      receivedAt: ctx.receivedAt,
      payload: p as object,
    },
  });
  await enqueueEvent(
    ctx.tx,
    topics.ocppCharger,
    "security_event.reported",
    {
      chargePointId,
      type: p.type,
      critical,
      occurredAt: occurredAt.toISOString(),
      receivedAt: ctx.receivedAt.toISOString(),
      techInfo,
    },
    { correlationId: ctx.correlationId },
  );
}
