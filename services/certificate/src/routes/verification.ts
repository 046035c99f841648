import { type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import { registryAt } from "../chain/registry.ts";
import { documentHash } from "../domain/canonical-json.ts";
import type { RouteDeps } from "./access.ts";

const Params = z.object({ tokenId: z.string().max(78).regex(/^\d+$/, "must be a decimal token id") });

const VerificationView = z.object({
  tokenId: z.string(),
  chainId: z.number().int(),
  registryAddress: z.string(),
  verified: z.boolean().describe("every check below holds"),
  checks: z.object({
    documentHash: z.boolean().describe("the stored document hashes to the hash the chain holds"),
    owner: z.boolean().describe("the owner's balance plus what it claimed equals the certificate's amount"),
    amount: z.boolean().describe("the chain's amount equals the document's energy"),
    claimed: z.boolean().describe("the chain's claimed amount equals what this service recorded"),
  }),
  chain: z.object({
    issuer: z.string(),
    documentHash: z.string(),
    amountWh: z.string(),
    owner: z.string(),
    ownerBalanceWh: z.string(),
    claimedWh: z.string(),
  }),
  document: z.record(z.string(), z.unknown()),
});

/**
 * Anyone can check a certificate: the chain is read now (not this service's copy) and compared with the
 * document: its hash, owner, amount and claimed amount.
 */
export function verificationRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  const { db, provider, registryAddress, chainId } = deps;
  const registry = registryAt(registryAddress, provider);
  return async (app) => {
    app.get(
      "/verify/:tokenId",
      {
        config: { public: true },
        schema: {
          summary: "Verify a certificate against the chain (public)",
          tags: ["verification"],
          params: Params,
          response: { 200: VerificationView },
        },
      },
      async (request) => {
        const { tokenId } = request.params;
        const c = await db.certificate.findFirst({ where: { tokenId } });
        if (!c) throw notFound("certificate");
        const id = BigInt(tokenId);
        const [onChain, balance, claimed] = (await Promise.all([
          registry.certificate!(id),
          registry.balanceOf!(c.ownerAddress, id),
          registry.claimedBalanceOf!(c.ownerAddress, id),
        ])) as [{ issuer: string; documentHash: string; value: bigint }, bigint, bigint];
        const checks = {
          documentHash:
            onChain.documentHash === documentHash(c.document) && onChain.documentHash === c.documentHash,
          owner: balance + claimed === onChain.value,
          amount: onChain.value === c.energyWh,
          claimed: claimed === c.claimedWh,
        };
        return {
          tokenId,
          chainId,
          registryAddress,
          verified: Object.values(checks).every(Boolean),
          checks,
          chain: {
            issuer: onChain.issuer,
            documentHash: onChain.documentHash,
            amountWh: onChain.value.toString(),
            owner: c.ownerAddress,
            ownerBalanceWh: balance.toString(),
            claimedWh: claimed.toString(),
          },
          document: c.document as Record<string, unknown>,
        };
      },
    );
  };
}
