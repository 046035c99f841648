import type { ActionHandler } from "../../central/handler.ts";
import { recordBoot } from "../shared/boot.ts";

interface BootNotificationReq {
  chargePointVendor: string;
  chargePointModel: string;
  chargePointSerialNumber?: string;
  chargeBoxSerialNumber?: string;
  firmwareVersion?: string;
}

/** 1.6 BootNotification: Accepted (or Pending by policy) with the heartbeat interval and the time. */
export const bootNotification: ActionHandler<BootNotificationReq> = async (ctx, p) => {
  const { status, interval } = await recordBoot(ctx, {
    vendor: p.chargePointVendor,
    model: p.chargePointModel,
    serialNumber: p.chargePointSerialNumber ?? p.chargeBoxSerialNumber ?? null,
    firmwareVersion: p.firmwareVersion ?? null,
  });
  return { status, currentTime: ctx.receivedAt.toISOString(), interval };
};
