import { badRequest } from "@energy/service-kit";
import type { Db } from "./db.ts";

/**
 * Gateway claims and what hangs on them, in one place for the routes that claim gateways or bind devices
 * to one (gateways, devices): a claim and a binding to the same gateway run one at a time, so a device is
 * never bound to a gateway that another organization's claim is taking away. Call inside the caller's
 * transaction.
 */
type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

/** Serializes the claims of one gateway and the bindings of devices to it. */
export async function lockGatewayClaim(tx: Tx, gatewayId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`gateway-claim:${gatewayId}`}))`;
}

/**
 * A device's comm identity must be a gateway its own organization has claimed (with the gateway's proof):
 * else anyone could point their devices at another organization's gateway. 400 naming `commIdentityId`.
 */
export async function requireOwnGateway(tx: Tx, orgId: string, gatewayId: string): Promise<void> {
  await lockGatewayClaim(tx, gatewayId);
  const claim = await tx.gatewayClaim.findUnique({ where: { gatewayId }, select: { orgId: true } });
  if (claim?.orgId !== orgId) {
    throw badRequest(
      "gateway_not_claimed",
      `commIdentityId: gateway ${gatewayId} is not claimed by this organization ` +
        "(claim it first: POST /organizations/:orgId/gateways/:gatewayId/claim)",
      { field: "commIdentityId" },
    );
  }
}
