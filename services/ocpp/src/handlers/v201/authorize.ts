import type { ActionHandler } from "../../central/handler.ts";
import { authorizeIdTag } from "../shared/authorize.ts";

/** 2.0.1 Authorize: the id token's status on the organization's list. */
export const authorize: ActionHandler<{ idToken: { idToken: string; type: string } }> = async (ctx, p) => {
  const auth = await authorizeIdTag(ctx, p.idToken.idToken);
  return {
    idTokenInfo: {
      status: auth.status,
      ...(auth.expiresAt ? { cacheExpiryDateTime: auth.expiresAt.toISOString() } : {}),
    },
  };
};
