import { createPublicKey, verify } from "node:crypto";

/**
 * Whether `signature` (base64url, or base64, of an ES256 signature: IEEE P1363 r||s as in JWS, or
 * DER) was made over the UTF-8 bytes of `body` by one of the given P-256 public keys (SPKI PEM).
 */
export function verifyBatchSignature(
  body: string,
  signature: string,
  publicKeysPem: readonly string[],
): boolean {
  const sig = Buffer.from(signature.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (sig.length === 0) return false;
  const data = Buffer.from(body, "utf8");
  const dsaEncoding = sig.length === 64 ? "ieee-p1363" : "der";
  return publicKeysPem.some((pem) => {
    try {
      return verify("sha256", data, { key: createPublicKey(pem), dsaEncoding }, sig);
    } catch {
      return false;
    }
  });
}
