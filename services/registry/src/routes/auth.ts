import { randomBytes, randomUUID } from "node:crypto";
import { IdentityTypeSchema, IdSchema, KeyAlgorithmSchema } from "@energy/contracts";
import { AppError, badRequest, type FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import type { Config } from "../config.ts";
import type { Db } from "../db.ts";
import {
  decodeSignature,
  KeyError,
  type NormalizedKey,
  parseLoginKey,
  verifySignature,
} from "../domain/keys.ts";
import { hashRefreshToken, newRefreshToken, type TokenIssuer } from "../tokens.ts";

const TokensView = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  tokenType: z.literal("Bearer"),
  /** Seconds until the access token expires. */
  expiresIn: z.int(),
});

const JwksView = z.object({
  keys: z.array(
    z.object({
      kty: z.string(),
      crv: z.string(),
      x: z.string(),
      y: z.string(),
      kid: z.string(),
      alg: z.literal("ES256"),
      use: z.literal("sig"),
    }),
  ),
});

type Failure = { ok: false; error: AppError };
const fail = (
  code: "invalid_challenge" | "invalid_signature" | "invalid_refresh_token",
  message: string,
): Failure => ({
  ok: false,
  error: new AppError(code, 401, message),
});

type TokenPair = z.infer<typeof TokensView>;

export function authRoutes(opts: { db: Db; config: Config; issuer: TokenIssuer }): FastifyPluginAsyncZod {
  const { db, config, issuer } = opts;

  /** Stores a new refresh token for the identity (in the caller's transaction) and signs an access token. */
  async function issueTokens(
    tx: Pick<Db, "refreshToken">,
    identity: { id: string; type: string },
    keyId: string | null,
  ): Promise<TokenPair> {
    const refresh = newRefreshToken();
    await tx.refreshToken.create({
      data: {
        id: randomUUID(),
        identityId: identity.id,
        keyId,
        tokenHash: refresh.tokenHash,
        expiresAt: new Date(Date.now() + config.REFRESH_TOKEN_TTL_SECONDS * 1000),
      },
    });
    return {
      accessToken: issuer.accessToken(
        { id: identity.id, type: IdentityTypeSchema.parse(identity.type) },
        keyId,
      ),
      refreshToken: refresh.token,
      tokenType: "Bearer",
      expiresIn: issuer.accessTokenTtlSeconds,
    };
  }

  /**
   * A challenge asked for by public key: the signature is checked with that key before anything is looked
   * up, so whoever does not hold its private key learns nothing (the same answer, after the same work,
   * whether or not the key is registered). Only then is the key's identity found: an active key of an
   * identity that is not revoked.
   */
  async function verifyByKey(
    tx: Pick<Db, "identityKey" | "refreshToken">,
    c: { publicKey: string; identityId: string | undefined; message: Buffer; signature: Buffer },
  ): Promise<Failure | { ok: true; tokens: TokenPair }> {
    const normalized: NormalizedKey = parseLoginKey(c.publicKey);
    if (!(await verifySignature(normalized, c.message, c.signature))) {
      return fail("invalid_signature", "The signature does not verify with the challenge's key");
    }
    const key = await tx.identityKey.findUnique({
      where: { publicKey: normalized.publicKey },
      include: { identity: true },
    });
    if (!key || key.revokedAt || key.identity.revokedAt) {
      return fail("invalid_signature", "No identity logs in with this key (unknown or revoked)");
    }
    if (c.identityId !== undefined && c.identityId !== key.identityId) {
      return fail("invalid_challenge", "Challenge was issued for another identity");
    }
    return { ok: true, tokens: await issueTokens(tx, key.identity, key.keyId) };
  }

  return async (app) => {
    app.post(
      "/auth/challenge",
      {
        config: { public: true },
        schema: {
          summary:
            "A single-use nonce to sign, for an identity or for a public key (the answer is the same for any)",
          description:
            "`{ identityId }` or `{ publicKey }` (Ed25519: 32 bytes as hex, base64 or base64url, or an SPKI PEM; " +
            "ES256: an SPKI PEM or a P-256 JWK). A challenge for a key lets a key's holder log in without knowing " +
            "its identity's id: /auth/verify checks the signature with that key first, and only a valid signature " +
            "looks the key's identity up. Unknown ids and keys get a challenge like any other, which never verifies.",
          tags: ["auth"],
          body: z.union([
            z.object({ identityId: z.string().trim().min(1).max(200) }),
            z.object({
              publicKey: z.union([z.string().min(1).max(4096), z.record(z.string().max(100), z.unknown())]),
            }),
          ]),
          response: {
            200: z.object({ challengeId: z.uuid(), nonce: z.string(), expiresAt: z.iso.datetime() }),
          },
        },
      },
      async (request) => {
        const body = request.body;
        let publicKey: string | null = null;
        if ("publicKey" in body) {
          try {
            publicKey = parseLoginKey(body.publicKey).publicKey;
          } catch (error) {
            if (error instanceof KeyError) {
              throw badRequest("invalid_public_key", error.message, { field: error.field });
            }
            throw error;
          }
        }
        // Stored whether or not the identity (or key) exists: an unknown or revoked one simply never verifies.
        const challenge = await db.authChallenge.create({
          data: {
            id: randomUUID(),
            identityId: "identityId" in body ? body.identityId : null,
            publicKey,
            nonce: randomBytes(32).toString("base64url"),
            expiresAt: new Date(Date.now() + config.CHALLENGE_TTL_SECONDS * 1000),
          },
        });
        return {
          challengeId: challenge.id,
          nonce: challenge.nonce,
          expiresAt: challenge.expiresAt.toISOString(),
        };
      },
    );

    app.post(
      "/auth/verify",
      {
        config: { public: true },
        schema: {
          summary:
            "Log in: the signature of the challenge's nonce (UTF-8) by one of the identity's active keys",
          description:
            "Ed25519 signatures are 64 bytes; ES256 signatures raw r||s (64 bytes) or DER; either in base64 or " +
            "base64url. A challenge is consumed by its first attempt, right or wrong. `identityId` names the " +
            "identity of a challenge asked for by id (it must be the one), and may be left out; a challenge asked " +
            "for by public key is verified with that key, and the identity is the key's (the access token's `sub`).",
          tags: ["auth"],
          body: z.object({
            challengeId: z.uuid(),
            identityId: z.string().min(1).max(200).optional(),
            keyId: IdSchema.optional(),
            signature: z.string().min(1).max(1024),
          }),
          response: { 200: TokensView },
        },
      },
      async (request) => {
        const { challengeId, identityId, keyId } = request.body;
        const signature = decodeSignature(request.body.signature);
        const result = await db.$transaction(
          async (tx): Promise<Failure | { ok: true; tokens: TokenPair }> => {
            // Check and consume in one statement: a second attempt, concurrent or later, finds nothing.
            const rows = await tx.$queryRaw<
              { identity_id: string | null; public_key: string | null; nonce: string; live: boolean }[]
            >`
            UPDATE auth_challenge SET used_at = now()
            WHERE id = ${challengeId}::uuid AND used_at IS NULL AND claim_org_id IS NULL
            RETURNING identity_id, public_key, nonce, expires_at > now() AS live`;
            const challenge = rows[0];
            if (!challenge) return fail("invalid_challenge", "Unknown or already used challenge");
            if (!challenge.live) return fail("invalid_challenge", "Challenge expired");
            const message = Buffer.from(challenge.nonce, "utf8");
            if (challenge.public_key !== null) {
              if (!signature) return fail("invalid_signature", "signature: expected base64 or base64url");
              return verifyByKey(tx, { publicKey: challenge.public_key, identityId, message, signature });
            }
            if (identityId !== undefined && challenge.identity_id !== identityId) {
              return fail("invalid_challenge", "Challenge was issued for another identity");
            }
            const identity = await tx.identity.findUnique({
              where: { id: challenge.identity_id ?? "" },
              include: { keys: { where: { revokedAt: null, ...(keyId ? { keyId } : {}) } } },
            });
            if (!identity || identity.revokedAt)
              return fail("invalid_challenge", "This challenge cannot be verified");
            if (!signature) return fail("invalid_signature", "signature: expected base64 or base64url");
            for (const key of identity.keys) {
              const normalized = {
                algorithm: KeyAlgorithmSchema.parse(key.algorithm),
                publicKey: key.publicKey,
              };
              if (await verifySignature(normalized, message, signature)) {
                return { ok: true, tokens: await issueTokens(tx, identity, key.keyId) };
              }
            }
            return fail(
              "invalid_signature",
              "The signature does not verify with an active key of the identity",
            );
          },
        );
        if (!result.ok) throw result.error;
        return result.tokens;
      },
    );

    app.post(
      "/auth/refresh",
      {
        config: { public: true },
        schema: {
          summary: "A new access token and a rotated refresh token (the one given is revoked)",
          tags: ["auth"],
          body: z.object({ refreshToken: z.string().min(1).max(200) }),
          response: { 200: TokensView },
        },
      },
      async (request) => {
        const tokenHash = hashRefreshToken(request.body.refreshToken);
        const result = await db.$transaction(
          async (tx): Promise<Failure | { ok: true; tokens: TokenPair }> => {
            const rows = await tx.$queryRaw<{ identity_id: string; key_id: string | null }[]>`
            UPDATE refresh_token SET revoked_at = now()
            WHERE token_hash = ${tokenHash} AND revoked_at IS NULL AND expires_at > now()
            RETURNING identity_id, key_id`;
            const row = rows[0];
            if (!row) return fail("invalid_refresh_token", "Unknown, expired or revoked refresh token");
            const identity = await tx.identity.findUnique({ where: { id: row.identity_id } });
            if (!identity || identity.revokedAt) return fail("invalid_refresh_token", "Identity revoked");
            return { ok: true, tokens: await issueTokens(tx, identity, row.key_id) };
          },
        );
        if (!result.ok) throw result.error;
        return result.tokens;
      },
    );

    app.get(
      "/.well-known/jwks.json",
      {
        config: { public: true },
        schema: {
          summary: "The public key that verifies the registry's access tokens, as a JWK set",
          tags: ["auth"],
          response: { 200: JwksView },
        },
      },
      async () => issuer.jwks,
    );
  };
}
