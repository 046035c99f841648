import { IdentityTypeSchema, IdSchema, KeyAlgorithmSchema, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import { badRequest, conflict, type FastifyPluginAsyncZod, forbidden, notFound } from "@energy/service-kit";
import { z } from "zod";
import type { Db } from "../db.ts";
import { mayRegister, mayRevokeIdentity, type RegistrableType } from "../domain/identity-rules.ts";
import { newId, newIdentityId } from "../domain/ids.ts";
import { KeyError, type NormalizedKey, parsePublicKey } from "../domain/keys.ts";
import { isUniqueViolation } from "./access.ts";

/** A key as text (hex, base64, base64url, PEM, JSON JWK) or as a JWK object. */
const PublicKeyInput = z.union([z.string().min(1).max(4096), z.record(z.string().max(100), z.unknown())]);

const RegisterBody = z.object({
  type: IdentityTypeSchema.exclude(["root"]),
  name: z.string().trim().min(1).max(200),
  publicKey: PublicKeyInput,
});

const RegisteredView = z.object({
  id: z.string(),
  type: IdentityTypeSchema,
  name: z.string(),
  keyId: z.string(),
});

const KeyView = z.object({ keyId: z.string(), algorithm: KeyAlgorithmSchema });

const IdentityParams = z.object({ id: IdSchema });
const Reason = z.object({ reason: z.string().trim().min(1).max(500).optional() }).nullish();

/** The input key normalized, or a 400 `invalid_public_key` naming the field. */
function parseKey(type: z.infer<typeof IdentityTypeSchema>, input: unknown): NormalizedKey {
  try {
    return parsePublicKey(type, input);
  } catch (error) {
    if (error instanceof KeyError) {
      throw badRequest("invalid_public_key", error.message, { field: error.field });
    }
    throw error;
  }
}

const keyInUse = () => conflict("public_key_in_use", "publicKey: this key is already registered");

export function identityRoutes(opts: {
  db: Db;
  published: () => void;
  /** tells the auth check the identity (or one key of it) is revoked: its unexpired tokens are refused */
  identityRevoked: (identityId: string, keyId?: string) => void;
}): FastifyPluginAsyncZod {
  const { db, published, identityRevoked } = opts;

  return async (app) => {
    app.post(
      "/identities",
      {
        schema: {
          summary: "Register an identity with its first public key",
          description:
            "root and admin may register users, admins and machines; a user may register machines " +
            "(gateway, device, integration). Users and admins sign with Ed25519, machines with ES256.",
          tags: ["identities"],
          body: RegisterBody,
          response: { 201: RegisteredView },
        },
      },
      async (request, reply) => {
        const caller = request.identity;
        const type: RegistrableType = request.body.type;
        if (!mayRegister(caller.type, type)) {
          throw forbidden(`A ${caller.type} identity may not register a ${type} identity`);
        }
        const key = parseKey(type, request.body.publicKey);
        const id = newIdentityId(type);
        const keyId = newId("key");
        const name = request.body.name;
        try {
          await db.$transaction(async (tx) => {
            if (await tx.identityKey.findUnique({ where: { publicKey: key.publicKey } })) throw keyInUse();
            await tx.identity.create({ data: { id, type, name, createdBy: caller.id } });
            await tx.identityKey.create({ data: { keyId, identityId: id, ...key } });
            await enqueueEvent(
              tx,
              topics.registryIdentity,
              "identity.registered",
              { identityId: id, identityType: type, name, keyId, ...key },
              { key: id, correlationId: request.id },
            );
          });
        } catch (error) {
          throw isUniqueViolation(error) ? keyInUse() : error;
        }
        published();
        return reply.status(201).send({ id, type, name, keyId });
      },
    );

    app.post(
      "/identities/:id/keys",
      {
        schema: {
          summary: "Add a public key to the caller's own identity",
          tags: ["identities"],
          params: IdentityParams,
          body: z.object({ publicKey: PublicKeyInput }),
          response: { 201: KeyView },
        },
      },
      async (request, reply) => {
        const caller = request.identity;
        const identityId = request.params.id;
        if (caller.id !== identityId) throw forbidden("Only the identity itself may add its keys");
        const identity = await db.identity.findUnique({ where: { id: identityId } });
        if (!identity) throw notFound("identity");
        const key = parseKey(IdentityTypeSchema.parse(identity.type), request.body.publicKey);
        const keyId = newId("key");
        try {
          await db.$transaction(async (tx) => {
            if (await tx.identityKey.findUnique({ where: { publicKey: key.publicKey } })) throw keyInUse();
            await tx.identityKey.create({ data: { keyId, identityId, ...key } });
            await enqueueEvent(
              tx,
              topics.registryIdentity,
              "identity.key_added",
              { identityId, keyId, ...key },
              { correlationId: request.id },
            );
          });
        } catch (error) {
          throw isUniqueViolation(error) ? keyInUse() : error;
        }
        published();
        return reply.status(201).send({ keyId, algorithm: key.algorithm });
      },
    );

    app.delete(
      "/identities/:id/keys/:keyId",
      {
        schema: {
          summary: "Revoke one of the caller's own keys (it can no longer log in)",
          description:
            "The last active key cannot be revoked (409 last_active_key): revoke the identity instead.",
          tags: ["identities"],
          params: IdentityParams.extend({ keyId: IdSchema }),
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        const caller = request.identity;
        const { id: identityId, keyId } = request.params;
        if (caller.id !== identityId) throw forbidden("Only the identity itself may revoke its keys");
        const revoked = await db.$transaction(async (tx) => {
          const key = await tx.identityKey.findUnique({ where: { keyId } });
          if (!key || key.identityId !== identityId) throw notFound("key");
          if (key.revokedAt) return false;
          const others = await tx.identityKey.count({
            where: { identityId, revokedAt: null, keyId: { not: keyId } },
          });
          if (others === 0) throw conflict("last_active_key", "keyId: the identity's last active key");
          const { count } = await tx.identityKey.updateMany({
            where: { keyId, revokedAt: null },
            data: { revokedAt: new Date() },
          });
          if (count === 0) return false;
          // the logins this key proved end with it
          await tx.refreshToken.updateMany({
            where: { keyId, revokedAt: null },
            data: { revokedAt: new Date() },
          });
          await enqueueEvent(
            tx,
            topics.registryIdentity,
            "identity.key_revoked",
            { identityId, keyId, reason: null },
            { correlationId: request.id },
          );
          return true;
        });
        if (revoked) {
          identityRevoked(identityId, keyId);
          published();
        }
        return reply.status(204).send(null);
      },
    );

    app.post(
      "/identities/:id/revoke",
      {
        schema: {
          summary: "Revoke an identity: no more logins, all its refresh tokens die",
          description: "The identity itself, root or an admin; the root identity cannot be revoked.",
          tags: ["identities"],
          params: IdentityParams,
          body: Reason,
          response: { 200: z.object({ id: z.string(), revokedAt: z.iso.datetime() }) },
        },
      },
      async (request) => {
        const caller = request.identity;
        const identityId = request.params.id;
        const reason = request.body?.reason ?? null;
        const target = await db.identity.findUnique({ where: { id: identityId } });
        if (!target) throw notFound("identity");
        const targetType = IdentityTypeSchema.parse(target.type);
        if (!mayRevokeIdentity(caller, { id: target.id, type: targetType })) {
          throw forbidden(`A ${caller.type} identity may not revoke this identity`);
        }
        const revokedAt = await db.$transaction(async (tx) => {
          const now = new Date();
          const { count } = await tx.identity.updateMany({
            where: { id: identityId, revokedAt: null },
            data: { revokedAt: now },
          });
          await tx.refreshToken.updateMany({
            where: { identityId, revokedAt: null },
            data: { revokedAt: now },
          });
          if (count === 0) return target.revokedAt ?? now;
          await enqueueEvent(
            tx,
            topics.registryIdentity,
            "identity.revoked",
            { identityId, reason },
            { correlationId: request.id },
          );
          return now;
        });
        identityRevoked(identityId);
        published();
        return { id: identityId, revokedAt: revokedAt.toISOString() };
      },
    );
  };
}
