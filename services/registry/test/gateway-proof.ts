import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import type { FastifyInstance } from "fastify";

/** A gateway's ES256 key pair, the public half as POST /identities takes it. */
export function gatewayKeys(): { privateKey: KeyObject; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

/** What the gateway does with a claim challenge: signs its message (UTF-8) with its key. */
export const signClaim = (privateKey: KeyObject, message: string) =>
  sign("sha256", Buffer.from(message, "utf8"), privateKey).toString("base64");

/** The whole claim as a gateway maker's app does it: challenge, the gateway's signature, claim. */
export async function claimWithProof(
  app: FastifyInstance,
  headers: Record<string, string>,
  claim: { orgId: string; gatewayId: string; privateKey: KeyObject; siteId?: string },
) {
  const base = `/organizations/${claim.orgId}/gateways/${claim.gatewayId}`;
  const challenge = await app.inject({ method: "POST", url: `${base}/claim-challenge`, headers });
  if (challenge.statusCode !== 201) throw new Error(`claim-challenge answered ${challenge.body}`);
  const { challengeId, message } = challenge.json() as { challengeId: string; message: string };
  return app.inject({
    method: "POST",
    url: `${base}/claim`,
    headers,
    payload: {
      challengeId,
      signature: signClaim(claim.privateKey, message),
      ...(claim.siteId ? { siteId: claim.siteId } : {}),
    },
  });
}
