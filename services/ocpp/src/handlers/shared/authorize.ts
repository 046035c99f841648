import type { CallContext } from "../../central/handler.ts";

export type AuthorizationStatus = "Accepted" | "Blocked" | "Expired" | "Invalid";

/**
 * An id tag's status on the charger's organization's list: Accepted, Blocked, Expired (past its expiry),
 * or Invalid when it is not on the list (unless ACCEPT_UNKNOWN_ID_TAGS).
 */
export async function authorizeIdTag(
  ctx: CallContext,
  idTag: string,
): Promise<{ status: AuthorizationStatus; expiresAt: Date | null; parentIdTag: string | null }> {
  const row = await ctx.tx.idTag.findUnique({ where: { orgId_idTag: { orgId: ctx.charger.orgId, idTag } } });
  if (!row) {
    return {
      status: ctx.config.ACCEPT_UNKNOWN_ID_TAGS ? "Accepted" : "Invalid",
      expiresAt: null,
      parentIdTag: null,
    };
  }
  const expired = row.expiresAt !== null && row.expiresAt <= ctx.receivedAt;
  const status = expired ? "Expired" : (row.status as AuthorizationStatus);
  return { status, expiresAt: row.expiresAt, parentIdTag: row.parentIdTag };
}
