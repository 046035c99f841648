import type { ActionHandler } from "../../central/handler.ts";
import { recordBoot } from "../shared/boot.ts";

interface BootNotificationReq {
  reason: string;
  chargingStation: { model: string; vendorName: string; serialNumber?: string; firmwareVersion?: string };
}

/** 2.0.1 BootNotification: Accepted (or Pending by policy) with the heartbeat interval and the time. */
export const bootNotification: ActionHandler<BootNotificationReq> = async (ctx, p) => {
  const { status, interval } = await recordBoot(ctx, {
    vendor: p.chargingStation.vendorName,
    model: p.chargingStation.model,
    serialNumber: p.chargingStation.serialNumber ?? null,
    firmwareVersion: p.chargingStation.firmwareVersion ?? null,
  });
  return { currentTime: ctx.receivedAt.toISOString(), interval, status };
};
