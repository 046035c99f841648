import { MemberRoleSchema } from "@energy/contracts";
import { type BaseContext, createApp, createOrgGuard, revocationCache } from "@energy/service-kit";
import type { Config } from "./config.ts";
import type { IngestionShared } from "./context.ts";
import type { Db } from "./db.ts";
import { CHANGE_CHANNELS } from "./db-changes.ts";
import { Backpressure } from "./ingest/backpressure.ts";
import { intervalRoutes } from "./routes/intervals.ts";
import { offlineDeviceRoutes } from "./routes/offline-devices.ts";
import { siteEnergyRoutes } from "./routes/site-energy.ts";
import { telemetryRoutes } from "./routes/telemetry.ts";
import { telemetryWsRoutes } from "./routes/telemetry-ws.ts";
import { twinRoutes } from "./routes/twins.ts";

export type AppDeps = BaseContext<Config, Db> & IngestionShared;

/** The ingestion HTTP app: built without listening, so tests drive it with app.inject(). */
export async function buildApp(deps: AppDeps) {
  const { config, db, ingestor } = deps;
  // Revocations arrive on registry.identity.v1 (the projection stores them: revoked_identity, and the
  // revoked key's identity_key row): a token of a revoked identity or login key is refused as soon as the
  // row's notification arrives (db-changes.ts), at the cost of a map read per request. Without the
  // listening connection, "not revoked" is read again after a second.
  const revocations = revocationCache({
    lookup: async (identityId, keyId) =>
      (await db.revokedIdentity.count({ where: { identityId } })) > 0 ||
      (keyId !== undefined &&
        (await db.identityKey.count({ where: { keyId, identityId, revokedAt: { not: null } } })) > 0),
    ttlMs: () => (deps.dbChanges.listening ? 60_000 : 1000),
  });
  deps.dbChanges.on(CHANGE_CHANNELS.revocation, revocations.forgetUnrevoked);
  const app = await createApp({
    name: "ingestion",
    description:
      "Gateway telemetry in (HTTP, WebSocket, signed Kafka batches); validated readings, digital twins, " +
      "half-hourly energy and device liveness out.",
    config,
    bodyLimit: config.BATCH_MAX_BYTES,
    readiness: deps.readiness,
    isRevoked: revocations.isRevoked,
  });
  const requireOrgRole = createOrgGuard(async (identityId, orgId) => {
    const membership = await db.membership.findUnique({ where: { orgId_identityId: { orgId, identityId } } });
    return membership ? MemberRoleSchema.parse(membership.role) : null;
  });
  const backpressure = new Backpressure(deps.storeLag, config.STORE_LAG_MAX_SECONDS * 1000);
  const telemetry = {
    ingestor,
    backpressure,
    maxBytes: config.BATCH_MAX_BYTES,
    maxReadings: config.BATCH_MAX_READINGS,
  };
  await app.register(telemetryRoutes(telemetry));
  await app.register(telemetryWsRoutes({ ...telemetry, isRevoked: revocations.isRevoked }));
  const reads = { db, requireOrgRole };
  await app.register(twinRoutes(reads));
  await app.register(intervalRoutes(reads));
  await app.register(siteEnergyRoutes(reads));
  await app.register(offlineDeviceRoutes(reads));
  return app;
}
