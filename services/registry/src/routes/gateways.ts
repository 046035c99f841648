import { createHash, randomBytes, randomUUID } from "node:crypto";
import { DeviceStateSchema, IdSchema, KeyAlgorithmSchema, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import { AppError, badRequest, type FastifyPluginAsyncZod, forbidden, notFound } from "@energy/service-kit";
import { z } from "zod";
import type { Config } from "../config.ts";
import { claimMessage } from "../domain/gateway-claim.ts";
import { decodeSignature, verifySignature } from "../domain/keys.ts";
import { newOneTimePassword, normalizeOneTimePassword } from "../domain/otp.ts";
import { lockGatewayClaim } from "../gateway-claims.ts";
import { type RouteDeps, WRITERS } from "./access.ts";

const ClaimParams = z.object({ orgId: IdSchema, gatewayId: IdSchema });
const ClaimBody = z
  .object({
    siteId: IdSchema.nullish(),
    /** From POST …/claim-challenge; with `signature`, the proof that the gateway consents. */
    challengeId: z.uuid().optional(),
    /** The gateway's ES256 signature of the challenge's `message` (raw r||s or DER; base64 or base64url). */
    signature: z.string().min(1).max(1024).optional(),
    /** Or the one-time code the gateway shows (POST /gateways/:gatewayId/claim-code); case and dashes ignored. */
    claimCode: z.string().trim().min(1).max(64).optional(),
  })
  .nullish();

const ChallengeView = z.object({
  challengeId: z.uuid(),
  nonce: z.string(),
  /** The exact text (UTF-8) the gateway signs. */
  message: z.string(),
  expiresAt: z.iso.datetime(),
});

const ClaimCodeView = z.object({
  /** 12 characters of base32 (60 random bits), shown as XXXX-XXXX-XXXX. */
  claimCode: z.string(),
  expiresAt: z.iso.datetime(),
});

/** Only the sha256 of a claim code is kept, bound to its gateway. */
const claimCodeHash = (gatewayId: string, code: string) =>
  createHash("sha256")
    .update(`${gatewayId}:${normalizeOneTimePassword(code)}`)
    .digest("hex");

const ClaimView = z.object({
  gatewayId: z.string(),
  orgId: z.string(),
  siteId: z.string().nullable(),
  previousOrgId: z.string().nullable(),
  orphanedDeviceIds: z.array(z.string()),
  claimedAt: z.iso.datetime(),
});

const proofRequired = () =>
  new AppError(
    "claim_proof_required",
    403,
    "Claiming a gateway needs its proof: challengeId and the gateway's signature of its message " +
      "(POST /organizations/:orgId/gateways/:gatewayId/claim-challenge), or the claimCode the gateway shows",
  );
const invalidProof = (why: string) => new AppError("invalid_claim_proof", 403, why);

/** Whether an active key of the gateway signed `message`. */
async function signedByGateway(
  keys: readonly { algorithm: string; publicKey: string }[],
  message: Buffer,
  signature: string,
): Promise<boolean> {
  const bytes = decodeSignature(signature);
  if (!bytes) return false;
  for (const key of keys) {
    const normalized = { algorithm: KeyAlgorithmSchema.parse(key.algorithm), publicKey: key.publicKey };
    if (await verifySignature(normalized, message, bytes)) return true;
  }
  return false;
}

export function gatewayRoutes(opts: RouteDeps & { config: Config }): FastifyPluginAsyncZod {
  const { db, requireOrgRole, published, config } = opts;

  /** The gateway identity, or 404 (unknown, revoked, or not a gateway). */
  async function findGateway(gatewayId: string) {
    const identity = await db.identity.findUnique({
      where: { id: gatewayId },
      include: { keys: { where: { revokedAt: null } } },
    });
    if (identity?.type !== "gateway" || identity.revokedAt) throw notFound("gateway");
    return identity;
  }

  return async (app) => {
    app.post(
      "/gateways/:gatewayId/claim-code",
      {
        schema: {
          summary: "A one-time claim code for the gateway to show (the gateway itself)",
          description:
            "For gateways that can show a code but not sign a challenge handed to them: whoever reads the code " +
            "off the gateway claims it with `claimCode`. One live code per gateway (a new one replaces it), " +
            "valid CLAIM_CODE_TTL_SECONDS, used up by the claim. Only its hash is stored.",
          tags: ["gateways"],
          params: z.object({ gatewayId: IdSchema }),
          response: { 201: ClaimCodeView },
        },
      },
      async (request, reply) => {
        const { gatewayId } = request.params;
        if (request.identity.id !== gatewayId)
          throw forbidden("Only the gateway itself asks for its claim code");
        await findGateway(gatewayId);
        const code = newOneTimePassword();
        const expiresAt = new Date(Date.now() + config.CLAIM_CODE_TTL_SECONDS * 1000);
        const codeHash = claimCodeHash(gatewayId, code);
        await db.gatewayClaimCode.upsert({
          where: { gatewayId },
          create: { gatewayId, codeHash, expiresAt },
          update: { codeHash, expiresAt, createdAt: new Date() },
        });
        return reply
          .status(201)
          .send({ claimCode: code.match(/.{4}/g)!.join("-"), expiresAt: expiresAt.toISOString() });
      },
    );

    app.post(
      "/organizations/:orgId/gateways/:gatewayId/claim-challenge",
      {
        schema: {
          summary:
            "A single-use challenge for the gateway to sign, naming this organization (owner, admin, operator)",
          description:
            "The gateway signs `message` (UTF-8) with its registered ES256 key; the signature and challengeId " +
            "go to POST …/claim. Single use, valid CHALLENGE_TTL_SECONDS, only for this gateway and organization.",
          tags: ["gateways"],
          params: ClaimParams,
          response: { 201: ChallengeView },
        },
      },
      async (request, reply) => {
        const { orgId, gatewayId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        await findGateway(gatewayId);
        const challenge = await db.authChallenge.create({
          data: {
            id: randomUUID(),
            identityId: gatewayId,
            claimOrgId: orgId,
            nonce: randomBytes(32).toString("base64url"),
            expiresAt: new Date(Date.now() + config.CHALLENGE_TTL_SECONDS * 1000),
          },
        });
        return reply.status(201).send({
          challengeId: challenge.id,
          nonce: challenge.nonce,
          message: claimMessage({ gatewayId, orgId, nonce: challenge.nonce }),
          expiresAt: challenge.expiresAt.toISOString(),
        });
      },
    );

    app.post(
      "/organizations/:orgId/gateways/:gatewayId/claim",
      {
        schema: {
          summary: "Claim a gateway for the organization with the gateway's proof (owner, admin, operator)",
          description:
            "A gateway comes to an organization (first claim, or from another organization) only with " +
            "challengeId and the gateway's signature of the challenge's message, or the claimCode it shows " +
            "(403 claim_proof_required, invalid_claim_proof); its own organization changes siteId without. When another organization " +
            "had claimed it, that organization's devices talking through it become orphaned.",
          tags: ["gateways"],
          params: ClaimParams,
          body: ClaimBody,
          response: { 200: ClaimView },
        },
      },
      async (request) => {
        const { orgId, gatewayId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const siteId = request.body?.siteId ?? null;
        const { challengeId, signature, claimCode } = request.body ?? {};
        const gateway = await findGateway(gatewayId);
        if (siteId && !(await db.site.findFirst({ where: { id: siteId, orgId }, select: { id: true } }))) {
          throw badRequest("unknown_site", "siteId: no such site in this organization", { field: "siteId" });
        }
        const outcome = await db.$transaction(async (tx) => {
          await lockGatewayClaim(tx, gatewayId);
          const previous = await tx.gatewayClaim.findUnique({ where: { gatewayId } });
          if (claimCode !== undefined) {
            // One-time: the code is deleted by the claim it proves (a wrong code leaves the live one alone).
            const used = await tx.$executeRaw`
              DELETE FROM gateway_claim_code
              WHERE gateway_id = ${gatewayId} AND code_hash = ${claimCodeHash(gatewayId, claimCode)}
                AND expires_at > now()`;
            if (used === 0) return { refused: invalidProof("claimCode: wrong, used or expired") };
          } else if (previous?.orgId !== orgId || challengeId || signature) {
            if (!challengeId || !signature) return { refused: proofRequired() };
            // Consumed by its first use, right or wrong (the refusal below commits it).
            const rows = await tx.$queryRaw<{ nonce: string; live: boolean }[]>`
              UPDATE auth_challenge SET used_at = now()
              WHERE id = ${challengeId}::uuid AND used_at IS NULL
                AND identity_id = ${gatewayId} AND claim_org_id = ${orgId}
              RETURNING nonce, expires_at > now() AS live`;
            const challenge = rows[0];
            if (!challenge) {
              return {
                refused: invalidProof("challengeId: unknown, used, or not for this gateway and organization"),
              };
            }
            if (!challenge.live) return { refused: invalidProof("challengeId: the challenge expired") };
            const message = Buffer.from(claimMessage({ gatewayId, orgId, nonce: challenge.nonce }), "utf8");
            if (!(await signedByGateway(gateway.keys, message, signature))) {
              return {
                refused: invalidProof("signature: not the gateway's signature of the challenge's message"),
              };
            }
          }
          const previousOrgId = previous && previous.orgId !== orgId ? previous.orgId : null;
          const claimedAt = new Date();
          await tx.gatewayClaim.upsert({
            where: { gatewayId },
            create: { gatewayId, orgId, siteId, claimedAt, claimedBy: request.identity.id },
            update: { orgId, siteId, claimedAt, claimedBy: request.identity.id },
          });
          const orphaned = previousOrgId
            ? await tx.device.findMany({
                where: { orgId: previousOrgId, commIdentityId: gatewayId, state: { not: "orphaned" } },
                orderBy: { id: "asc" },
              })
            : [];
          for (const device of orphaned) {
            await tx.device.update({ where: { id: device.id }, data: { state: "orphaned" } });
            await enqueueEvent(
              tx,
              topics.registryDevice,
              "device.state_changed",
              {
                deviceId: device.id,
                orgId: device.orgId,
                from: DeviceStateSchema.parse(device.state),
                to: "orphaned",
                reason: `gateway ${gatewayId} claimed by another organization`,
              },
              { key: device.id, correlationId: request.id },
            );
          }
          await enqueueEvent(
            tx,
            topics.registryGateway,
            "gateway.claimed",
            { gatewayId, orgId, siteId, previousOrgId },
            { correlationId: request.id },
          );
          return { claimed: { previousOrgId, orphanedDeviceIds: orphaned.map((d) => d.id), claimedAt } };
        });
        if ("refused" in outcome) throw outcome.refused;
        published();
        const result = outcome.claimed;
        return {
          gatewayId,
          orgId,
          siteId,
          previousOrgId: result.previousOrgId,
          orphanedDeviceIds: result.orphanedDeviceIds,
          claimedAt: result.claimedAt.toISOString(),
        };
      },
    );
  };
}
