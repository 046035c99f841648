/**
 * The registry's key login (services/registry/src/routes/auth.ts): POST /auth/challenge names the identity
 * (or the key's public half) and returns a single-use nonce; POST /auth/verify carries the nonce's signature by one of the identity's
 * active keys and returns an access token (ES256 JWT, every service verifies it) and a refresh token;
 * POST /auth/refresh trades a refresh token for new ones (the old one is revoked).
 */
import type { KeyObject } from "node:crypto";
import { type ApiClient, ApiError } from "./http.ts";
import { publicKeyPem, signNonce } from "./keys.ts";

/** What /auth/verify and /auth/refresh answer. */
export interface Tokens {
  accessToken: string;
  refreshToken: string;
  tokenType: "Bearer";
  /** seconds until the access token expires */
  expiresIn: number;
}

/**
 * Logs in with a private key (Ed25519 or ES256): challenge, sign the nonce, verify. With `identityId`, the
 * challenge is asked for that identity; with null, for the key's public half, and the registry finds the
 * identity by its key once the signature is checked (the access token's `sub` names it: identityOf).
 */
export async function keyLogin(
  registry: ApiClient,
  identityId: string | null,
  privateKey: KeyObject,
  opts: { keyId?: string } = {},
): Promise<Tokens> {
  const challenge = await registry.request<{ challengeId: string; nonce: string }>(
    "POST",
    "/auth/challenge",
    { body: identityId === null ? { publicKey: publicKeyPem(privateKey) } : { identityId } },
  );
  return registry.request<Tokens>("POST", "/auth/verify", {
    body: {
      challengeId: challenge.challengeId,
      ...(identityId === null ? {} : { identityId }),
      signature: signNonce(privateKey, challenge.nonce),
      ...(opts.keyId ? { keyId: opts.keyId } : {}),
    },
  });
}

/** The identity an access token was issued to (its `sub`), read without checking the token. */
export function identityOf(accessToken: string): string {
  try {
    const claims = JSON.parse(Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString("utf8"));
    if (typeof claims.sub === "string") return claims.sub;
  } catch {
    // falls through
  }
  throw new Error("the access token names no identity (no sub claim)");
}

/** New tokens for a refresh token (which the registry then revokes); a 401 ApiError when it no longer works. */
export function refreshTokens(registry: ApiClient, refreshToken: string): Promise<Tokens> {
  return registry.request<Tokens>("POST", "/auth/refresh", { body: { refreshToken } });
}

/**
 * An identity's access token, renewed before it expires: with the refresh token, or by logging in again
 * with the key when the refresh token no longer works.
 */
export class TokenSource {
  private tokens: Tokens | null = null;
  private expiresAt = 0;
  private pending: Promise<string> | null = null;
  private readonly registry: ApiClient;
  readonly identityId: string;
  private readonly key: KeyObject;
  /** Renew this long before expiry. */
  private readonly marginMs: number;

  constructor(registry: ApiClient, identityId: string, key: KeyObject, marginMs = 60_000) {
    this.registry = registry;
    this.identityId = identityId;
    this.key = key;
    this.marginMs = marginMs;
  }

  /** A token valid for at least the margin (or half the token's life, when that is shorter). */
  async token(): Promise<string> {
    if (this.tokens && Date.now() < this.expiresAt) return this.tokens.accessToken;
    return this.renew();
  }

  /** A new token now (after the server refused the current one, say). */
  renew(): Promise<string> {
    this.pending ??= this.obtain().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private async obtain(): Promise<string> {
    let tokens: Tokens | null = null;
    if (this.tokens) {
      try {
        tokens = await refreshTokens(this.registry, this.tokens.refreshToken);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 401) throw error;
      }
    }
    tokens ??= await keyLogin(this.registry, this.identityId, this.key);
    this.tokens = tokens;
    this.expiresAt = Date.now() + renewAfterMs(tokens.expiresIn, this.marginMs);
    return tokens.accessToken;
  }
}

/** How long after it was issued a token of `expiresIn` seconds is renewed: `marginMs` early, at most at half life. */
export function renewAfterMs(expiresIn: number, marginMs: number): number {
  const lifeMs = expiresIn * 1000;
  return Math.max(lifeMs / 2, lifeMs - marginMs);
}
