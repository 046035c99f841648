import { createHash, createPrivateKey, createPublicKey, randomBytes, randomUUID } from "node:crypto";
import type { IdentityType } from "@energy/contracts";
import jwt from "jsonwebtoken";
import type { Config } from "./config.ts";

export type Jwk = { kty: string; crv: string; x: string; y: string; kid: string; alg: "ES256"; use: "sig" };

/** Issues the registry's access tokens (ES256) and publishes their public key as a JWKS. */
export function createTokenIssuer(config: Config) {
  const privateKey = createPrivateKey(config.JWT_PRIVATE_KEY);
  const { kty, crv, x, y } = createPublicKey(config.JWT_PUBLIC_KEY).export({ format: "jwk" });
  if (!kty || !crv || !x || !y) throw new Error("JWT_PUBLIC_KEY: not an EC public key");
  // RFC 7638 thumbprint: a kid that changes exactly when the key does.
  const kid = createHash("sha256").update(JSON.stringify({ crv, kty, x, y })).digest("base64url");
  const jwk: Jwk = { kty, crv, x, y, kid, alg: "ES256", use: "sig" };

  return {
    jwks: { keys: [jwk] },
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    /** A signed access token: sub, typ, key (the login key, when known), jti, iat, exp, iss, aud. */
    accessToken(identity: { id: string; type: IdentityType }, keyId?: string | null): string {
      return jwt.sign({ typ: identity.type, ...(keyId ? { key: keyId } : {}) }, privateKey, {
        algorithm: "ES256",
        keyid: kid,
        subject: identity.id,
        jwtid: randomUUID(),
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        expiresIn: config.ACCESS_TOKEN_TTL_SECONDS,
      });
    },
  };
}
export type TokenIssuer = ReturnType<typeof createTokenIssuer>;

/** A new refresh token: the value goes to the client, only its sha256 is stored. */
export function newRefreshToken(): { token: string; tokenHash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, tokenHash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
