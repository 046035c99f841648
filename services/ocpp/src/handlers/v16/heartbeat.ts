import type { ActionHandler } from "../../central/handler.ts";
import { recordHeartbeat } from "../shared/boot.ts";

/** 1.6 Heartbeat. */
export const heartbeat: ActionHandler<Record<string, never>> = (ctx) => recordHeartbeat(ctx);
