import { MemberRoleSchema } from "@energy/contracts";
import { outboxReadiness } from "@energy/kafka";
import { createApp, createOrgGuard } from "@energy/service-kit";
import type { Chain } from "./chain/connect.ts";
import type { Config } from "./config.ts";
import type { Db } from "./db.ts";
import { bundleRoutes } from "./routes/bundles.ts";
import { certificateRoutes } from "./routes/certificates.ts";
import { claimRoutes } from "./routes/claims.ts";
import { documentRoutes } from "./routes/documents.ts";
import { verificationRoutes } from "./routes/verification.ts";

export interface AppDeps {
  config: Config;
  db: Db;
  chain: Chain;
  /** readiness of the Kafka producer */
  kafkaReady: () => Promise<unknown>;
  /** wakes the chain sender (a claim was queued) */
  nudgeChain: () => void;
}

/** The certificate HTTP app: built without listening, so tests drive it with app.inject(). */
export async function buildApp(deps: AppDeps) {
  const { config, db, chain } = deps;
  const app = await createApp({
    name: "certificate",
    description:
      "Renewable-energy certificates minted on an EVM chain (ERC-1155, in the spirit of ERC-1888): queries, " +
      "public verification against the chain, documents by hash, granular bundles, claims.",
    config,
    readiness: {
      database: () => db.$queryRawUnsafe("SELECT 1"),
      kafka: deps.kafkaReady,
      chain: () => chain.provider.getBlockNumber(),
      outbox: outboxReadiness(db, { maxPendingAgeMs: config.OUTBOX_MAX_PENDING_AGE_SECONDS * 1000 }),
    },
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
    nudgeChain: deps.nudgeChain,
  };
  await app.register(certificateRoutes(routes));
  await app.register(bundleRoutes(routes));
  await app.register(claimRoutes(routes));
  await app.register(verificationRoutes(routes));
  await app.register(documentRoutes(routes));
  return Object.assign(app, { requireOrgRole });
}
