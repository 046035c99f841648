import { topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import type { CallContext } from "../../central/handler.ts";
import { bootAnswer, type RegistrationDecision, type RegistrationStatus } from "../../domain/registration.ts";

export interface BootInfo {
  vendor: string;
  model: string;
  serialNumber: string | null;
  firmwareVersion: string | null;
}

/**
 * Records a boot and decides the answer: the operator's decision (charger_registration: Accepted or
 * Rejected), else the policy (BOOT_POLICY: Accepted or Pending). Accepted comes with the heartbeat interval;
 * Pending and Rejected with the interval after which the charger boots again (domain/registration.ts says
 * what it may send meanwhile).
 */
export async function recordBoot(
  ctx: CallContext,
  info: BootInfo,
): Promise<{ status: RegistrationStatus; interval: number }> {
  const decision = await ctx.tx.chargerRegistration.findUnique({
    where: { chargePointId: ctx.charger.chargePointId },
  });
  const status = bootAnswer(
    (decision?.status as RegistrationDecision | undefined) ?? null,
    ctx.config.BOOT_POLICY,
  );
  const point = await ctx.tx.chargePoint.update({
    where: { serialNumber: ctx.charger.chargePointId },
    data: {
      vendor: info.vendor,
      model: info.model,
      reportedSerial: info.serialNumber,
      firmwareVersion: info.firmwareVersion,
      bootStatus: status,
      bootedAt: ctx.receivedAt,
      lastHeartbeat: ctx.receivedAt,
    },
  });
  await enqueueEvent(
    ctx.tx,
    topics.ocppCharger,
    "charger.booted",
    {
      chargePointId: ctx.charger.chargePointId,
      ...info,
      registrationStatus: status,
      clockSkewMs: point.clockSkewMs === null ? null : Number(point.clockSkewMs),
    },
    { correlationId: ctx.correlationId },
  );
  ctx.connection.bootStatus = status;
  ctx.connection.triggered.clear();
  return { status, interval: ctx.config.HEARTBEAT_INTERVAL_SECONDS };
}

/** Heartbeat: the charger is alive; the answer gives it the time (chargers set their clock from it). */
export async function recordHeartbeat(ctx: CallContext): Promise<{ currentTime: string }> {
  await ctx.tx.chargePoint.update({
    where: { serialNumber: ctx.charger.chargePointId },
    data: { lastHeartbeat: ctx.receivedAt },
  });
  return { currentTime: ctx.receivedAt.toISOString() };
}

/** Keeps the charger's clock skew (or clears it once the clock is right again). */
export async function noteClockSkew(ctx: CallContext, skewMs: number | null): Promise<void> {
  await ctx.tx.chargePoint.updateMany({
    where: { serialNumber: ctx.charger.chargePointId },
    data: { clockSkewMs: skewMs === null ? null : BigInt(Math.round(skewMs)) },
  });
}
