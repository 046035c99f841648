import type { ActionHandler } from "../../central/handler.ts";
import { recordSecurityEvent } from "../shared/security-event.ts";

/**
 * 1.6 SecurityEventNotification (the OCPP 1.6 security whitepaper's extension, in ocpp-rpc's 1.6 schema):
 * the same as 2.0.1's — stored in security_event and published as `security_event.reported`.
 */
export const securityEventNotification: ActionHandler<{
  type: string;
  timestamp: string;
  techInfo?: string;
}> = async (ctx, p) => {
  await recordSecurityEvent(ctx, p);
  return {};
};
