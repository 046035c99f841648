import { MemberRoleSchema } from "@energy/contracts";
import { type BaseContext, createApp, createOrgGuard, revocationCache } from "@energy/service-kit";
import type { Config } from "./config.ts";
import type { RegistryShared } from "./context.ts";
import type { Db } from "./db.ts";
import { createMailer } from "./mailer.ts";
import { authRoutes } from "./routes/auth.ts";
import { communityRoutes } from "./routes/communities.ts";
import { communityAssetRoutes } from "./routes/community-assets.ts";
import { communityMemberRoutes } from "./routes/community-members.ts";
import { derRoutes } from "./routes/ders.ts";
import { deviceGroupRoutes } from "./routes/device-groups.ts";
import { deviceRoutes } from "./routes/devices.ts";
import { gatewayRoutes } from "./routes/gateways.ts";
import { identityRoutes } from "./routes/identities.ts";
import { importRoutes } from "./routes/imports.ts";
import { invitationRoutes } from "./routes/invitations.ts";
import { organizationRoutes } from "./routes/organizations.ts";
import { siteRoutes } from "./routes/sites.ts";
import { createTokenIssuer } from "./tokens.ts";

export type OrgGuard = ReturnType<typeof createOrgGuard>;

export type AppDeps = BaseContext<Config, Db> & RegistryShared;

/** The registry's HTTP app: built without listening, so tests drive it with app.inject(). */
export async function buildApp(deps: AppDeps) {
  const { config, db } = deps;
  // A revoked identity's (or login key's) access token is refused on every endpoint at once (this process
  // revoked it) or within a second (another instance did): the check on each request is a map read.
  const revocations = revocationCache({
    lookup: async (identityId, keyId) => {
      const identity = await db.identity.findUnique({
        where: { id: identityId },
        select: { revokedAt: true, keys: { where: { keyId: keyId ?? "" }, select: { revokedAt: true } } },
      });
      return identity?.revokedAt != null || identity?.keys[0]?.revokedAt != null;
    },
  });
  const app = await createApp({
    name: "registry",
    description: "Identities, organizations and what they own; the source of every registry.* event.",
    config,
    readiness: deps.readiness,
    isRevoked: revocations.isRevoked,
  });
  const requireOrgRole = createOrgGuard(async (identityId, orgId) => {
    const membership = await db.membership.findUnique({ where: { orgId_identityId: { orgId, identityId } } });
    return membership ? MemberRoleSchema.parse(membership.role) : null;
  });
  const orgScoped = { db, requireOrgRole, published: deps.published };
  await app.register(organizationRoutes(orgScoped));
  await app.register(siteRoutes(orgScoped));
  await app.register(deviceRoutes(orgScoped));
  await app.register(derRoutes(orgScoped));
  await app.register(gatewayRoutes({ ...orgScoped, config }));
  await app.register(deviceGroupRoutes(orgScoped));
  await app.register(communityRoutes(orgScoped));
  await app.register(communityMemberRoutes(orgScoped));
  await app.register(communityAssetRoutes(orgScoped));
  const mailer = createMailer(config);
  app.addHook("onClose", async () => mailer.close());
  await app.register(invitationRoutes({ ...orgScoped, config, mailer }));
  // bulk CSV onboarding: the worker is a job of the runtime (service.ts); routes wake it
  await app.register(importRoutes({ db, requireOrgRole, worker: deps.importWorker }));
  await app.register(identityRoutes({ db, published: deps.published, identityRevoked: revocations.revoked }));
  await app.register(authRoutes({ db, config, issuer: createTokenIssuer(config) }));
  return app;
}
