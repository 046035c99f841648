import type { ActionHandler } from "../../central/handler.ts";
import { recordSecurityEvent } from "../shared/security-event.ts";

/**
 * 2.0.1 SecurityEventNotification (e.g. a firmware update or tamper detection): stored in security_event
 * and published as `security_event.reported` (see shared/security-event.ts).
 */
export const securityEventNotification: ActionHandler<{
  type: string;
  timestamp: string;
  techInfo?: string;
}> = async (ctx, p) => {
  await recordSecurityEvent(ctx, p);
  return {};
};
