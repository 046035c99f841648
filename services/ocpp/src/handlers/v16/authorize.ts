import type { ActionHandler } from "../../central/handler.ts";
import { authorizeIdTag } from "../shared/authorize.ts";

/** 1.6 Authorize: the id tag's status on the organization's list. */
export const authorize: ActionHandler<{ idTag: string }> = async (ctx, p) => {
  const auth = await authorizeIdTag(ctx, p.idTag);
  return {
    idTagInfo: {
      status: auth.status,
      ...(auth.expiresAt ? { expiryDate: auth.expiresAt.toISOString() } : {}),
      ...(auth.parentIdTag ? { parentIdTag: auth.parentIdTag } : {}),
    },
  };
};
