import { randomUUID } from "node:crypto";
import { AppError, badRequest, conflict, type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import { registryAt } from "../chain/registry.ts";
import { GasTierSchema } from "../config.ts";
import { CertificateParams, CLAIMERS, READERS, type RouteDeps } from "./access.ts";

/** The most one claim retires: a thousand GWh, far above any one certificate (its energy is the true bound). */
const MAX_CLAIM_WH = 1_000_000_000_000;

const ClaimBody = z.object({
  amountWh: z
    .number()
    .int()
    .positive()
    .max(MAX_CLAIM_WH)
    .describe("how much of the certificate to retire, whole Wh"),
  beneficiary: z.string().min(1).max(200).describe("on whose behalf the energy is claimed"),
  purpose: z.string().max(500).optional(),
  gasTier: GasTierSchema.optional().describe("the claim transaction's gas tier; absent: DEFAULT_GAS_TIER"),
});

const ClaimView = z.object({
  claimId: z.string(),
  certificateId: z.string(),
  amountWh: z.number().int(),
  beneficiary: z.string(),
  source: z.enum(["api", "chain"]),
  status: z.enum(["pending", "sent", "confirmed", "failed"]),
  txHash: z.string().nullable(),
  failureReason: z.string().nullable(),
  createdAt: z.iso.datetime(),
});
type ClaimRow = Awaited<ReturnType<RouteDeps["db"]["claim"]["findFirstOrThrow"]>>;
const claimView = (c: ClaimRow): z.infer<typeof ClaimView> => ({
  claimId: c.id,
  certificateId: c.certificateId,
  amountWh: Number(c.amountWh),
  beneficiary: c.beneficiary,
  source: c.source as "api",
  status: c.status as "pending",
  txHash: c.txHash,
  failureReason: c.failureReason,
  createdAt: c.createdAt.toISOString(),
});

/**
 * Claims (retirements) of a buyer's certificates. For a custodial buyer (one that approved the service's
 * issuer key as its ERC-1155 operator) the service signs `claimFor`; a buyer holding its own key claims
 * on chain and the service picks the claim up from the chain's events.
 */
export function claimRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  const { db, requireOrgRole, provider, registryAddress } = deps;
  const registry = registryAt(registryAddress, provider);
  return async (app) => {
    app.post(
      "/organizations/:orgId/certificates/:certificateId/claims",
      {
        schema: {
          summary:
            "Retire all or part of a certificate for a beneficiary (owner or admin); 202 while it is mined",
          tags: ["claims"],
          params: CertificateParams,
          body: ClaimBody,
          response: { 202: ClaimView },
        },
      },
      async (request, reply) => {
        const { orgId, certificateId } = request.params;
        await requireOrgRole(request, orgId, CLAIMERS);
        const c = await db.certificate.findFirst({ where: { id: certificateId, buyerOrgId: orgId } });
        if (!c) throw notFound("certificate");
        if (c.status !== "confirmed" || !c.tokenId) {
          throw conflict(
            "certificate_not_confirmed",
            `the certificate is ${c.status}; only confirmed certificates can be claimed`,
          );
        }
        const body = request.body;
        const [balance, operatorOk] = (await Promise.all([
          registry.balanceOf!(c.ownerAddress, BigInt(c.tokenId)),
          registry.isApprovedForAll!(c.ownerAddress, (await registry.issuer!()) as string),
        ])) as [bigint, boolean];
        if (!operatorOk) {
          throw new AppError(
            "not_custodial",
            409,
            "the owner has not approved this service as its operator: claim on chain with the owner's key",
          );
        }
        const pending = await db.claim.aggregate({
          where: { certificateId, status: { in: ["pending", "sent"] } },
          _sum: { amountWh: true },
        });
        const available = balance - (pending._sum.amountWh ?? 0n);
        if (BigInt(body.amountWh) > available) {
          throw badRequest(
            "amount_exceeds_balance",
            `at most ${available} Wh of this certificate can be claimed`,
            {
              field: "amountWh",
            },
          );
        }
        const claim = await db.claim.create({
          data: {
            id: randomUUID(),
            certificateId,
            ownerAddress: c.ownerAddress,
            amountWh: BigInt(body.amountWh),
            beneficiary: body.beneficiary,
            claimData: { beneficiary: body.beneficiary, purpose: body.purpose ?? null, certificateId },
            source: "api",
            status: "pending",
            requestedBy: request.identity.id,
            tier: body.gasTier ?? null,
          },
        });
        deps.nudgeChain();
        return reply.code(202).send(claimView(claim));
      },
    );

    app.get(
      "/organizations/:orgId/certificates/:certificateId/claims",
      {
        schema: {
          summary: "The certificate's claims, through the API and on chain (any member)",
          tags: ["claims"],
          params: CertificateParams,
          response: { 200: z.object({ claims: z.array(ClaimView) }) },
        },
      },
      async (request) => {
        const { orgId, certificateId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const c = await db.certificate.findFirst({ where: { id: certificateId, buyerOrgId: orgId } });
        if (!c) throw notFound("certificate");
        const claims = await db.claim.findMany({ where: { certificateId }, orderBy: { createdAt: "asc" } });
        return { claims: claims.map(claimView) };
      },
    );
  };
}
