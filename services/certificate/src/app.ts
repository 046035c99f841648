import { MemberRoleSchema } from "@energy/contracts";
import { type BaseContext, createApp, createOrgGuard } from "@energy/service-kit";
import type { Config } from "./config.ts";
import type { CertificateShared } from "./context.ts";
import type { Db } from "./db.ts";
import { bundleRoutes } from "./routes/bundles.ts";
import { certificateRoutes } from "./routes/certificates.ts";
import { claimRoutes } from "./routes/claims.ts";
import { documentRoutes } from "./routes/documents.ts";
import { verificationRoutes } from "./routes/verification.ts";

export type AppDeps = BaseContext<Config, Db> & CertificateShared;

/** The certificate HTTP app: built without listening, so tests drive it with app.inject(). */
export async function buildApp(deps: AppDeps) {
  const { config, db, chain } = deps;
  const app = await createApp({
    name: "certificate",
    description:
      "Renewable-energy certificates minted on an EVM chain (ERC-1155, in the spirit of ERC-1888): queries, " +
      "public verification against the chain, documents by hash, granular bundles, claims.",
    config,
    // the runtime's (database, Kafka, outbox) and the chain's node
    readiness: { ...deps.readiness, chain: () => chain.provider.getBlockNumber() },
  });
  const requireOrgRole = createOrgGuard(async (identityId, orgId) => {
    const membership = await db.membership.findUnique({ where: { orgId_identityId: { orgId, identityId } } });
    return membership ? MemberRoleSchema.parse(membership.role) : null;
  });
  const routes = {
    db,
    requireOrgRole,
    provider: chain.provider,
    registryAddress: chain.registryAddress,
    chainId: chain.chainId,
    nudgeChain: () => deps.sender.nudge(),
  };
  await app.register(certificateRoutes(routes));
  await app.register(bundleRoutes(routes));
  await app.register(claimRoutes(routes));
  await app.register(verificationRoutes(routes));
  await app.register(documentRoutes(routes));
  return Object.assign(app, { requireOrgRole });
}
