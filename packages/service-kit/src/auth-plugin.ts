import { createPublicKey } from "node:crypto";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { type Identity, identityOf, verifyAccessToken } from "./access-token.ts";
import { unauthorized } from "./errors.ts";
import { globalPlugin } from "./global-plugin.ts";
import type { IsRevoked } from "./revocation.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Serve this route without a token. Every other route requires a valid bearer token. */
    public?: boolean;
  }
  interface FastifyRequest {
    /** The verified caller. Reading it on a request without one throws a 401. */
    readonly identity: Identity;
  }
}

export type AuthOptions = {
  publicKeyPem: string;
  issuer: string;
  audience: string;
  /** Refuses (401) a verified token whose identity is revoked; see `revocationCache`. */
  isRevoked?: IsRevoked;
};

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i;

/** Reads the token from `Authorization: Bearer <jwt>`, or throws 401. */
function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (!header) throw unauthorized("Missing bearer token");
  const token = BEARER.exec(header.trim())?.[1];
  if (!token) throw unauthorized("Malformed Authorization header, expected: Bearer <token>");
  return token;
}

/**
 * Every route requires a valid access token unless it sets `config: { public: true }`.
 * Unknown routes fall through to the 404 handler. Runs on `onRequest`, before the body is read.
 */
export const authPlugin: FastifyPluginAsync<AuthOptions> = globalPlugin(
  "service-kit-auth",
  async (app, opts) => {
    const key = createPublicKey(opts.publicKeyPem);
    const verified = new WeakMap<FastifyRequest, Identity>();

    app.decorateRequest("identity", {
      getter(this: FastifyRequest) {
        const identity = verified.get(this);
        if (!identity) throw unauthorized();
        return identity;
      },
    });

    app.addHook("onRequest", async (request) => {
      if (request.is404 || request.routeOptions.config.public === true) return;
      const claims = verifyAccessToken(bearerToken(request), key, opts);
      if (opts.isRevoked && (await opts.isRevoked(claims.sub, claims.key))) {
        throw unauthorized("Identity or key revoked");
      }
      verified.set(request, identityOf(claims));
    });

    // A WebSocket upgrade refused here (401), or answered over HTTP by a later hook (403, 404), must not
    // leave its socket open: @fastify/websocket closes it only when its own hooks ran, and this one runs first.
    app.addHook("onResponse", async (request, reply) => {
      if (reply.statusCode !== 101 && request.headers.upgrade?.toLowerCase() === "websocket") {
        request.raw.socket?.destroy();
      }
    });
  },
);
