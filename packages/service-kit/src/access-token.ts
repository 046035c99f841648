import { createPublicKey, type KeyObject } from "node:crypto";
import { type IdentityType, IdentityTypeSchema } from "@energy/contracts";
import jwt from "jsonwebtoken";
import { z } from "zod";
import { unauthorized } from "./errors.ts";

/** Who is calling: the `sub` and `typ` claims of a verified access token (and its login `key`, if any). */
export type Identity = { id: string; type: IdentityType; keyId?: string };

/** Claims the registry puts in an access token; `exp` is required (no everlasting tokens). */
export const AccessTokenClaimsSchema = z.object({
  sub: z.string().min(1),
  typ: IdentityTypeSchema,
  jti: z.string().min(1).optional(),
  /** The key the identity proved at login; a token of a revoked key is refused like a revoked identity's. */
  key: z.string().min(1).optional(),
  iat: z.number().optional(),
  exp: z.number(),
});
export type AccessTokenClaims = z.infer<typeof AccessTokenClaimsSchema>;

export type VerifyOptions = { issuer: string; audience: string };

/**
 * Verifies an ES256 access token issued by the registry and returns its claims.
 * Only ES256 is accepted (no `none`, no HMAC signed with the public key).
 * Throws an AppError `unauthorized` (401) on any failure.
 */
export function verifyAccessToken(
  token: string,
  publicKey: string | KeyObject,
  { issuer, audience }: VerifyOptions,
): AccessTokenClaims {
  const key = typeof publicKey === "string" ? createPublicKey(publicKey) : publicKey;
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, key, { algorithms: ["ES256"], issuer, audience });
  } catch (error) {
    throw unauthorized(error instanceof jwt.TokenExpiredError ? "Token expired" : "Invalid token");
  }
  const claims = AccessTokenClaimsSchema.safeParse(payload);
  if (!claims.success) throw unauthorized("Invalid token claims");
  return claims.data;
}

export function identityOf(claims: AccessTokenClaims): Identity {
  return { id: claims.sub, type: claims.typ, ...(claims.key ? { keyId: claims.key } : {}) };
}
