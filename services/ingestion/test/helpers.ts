import { topics } from "@energy/contracts";
import { startTestService } from "@energy/service-kit/testing";
import { ingestion } from "../src/service.ts";

/**
 * Ingestion as server.ts starts it (the same declaration and runtime), on a fresh database and topic
 * prefix of the real PostgreSQL and Kafka, without listening (drive it with app.inject or app.listen).
 * Its consumer groups (registry projection, telemetry store, raw batches) run only when a test asks for
 * them; of its jobs only "database changes" runs (what it keeps in memory is trusted as in production),
 * housekeeping does not (tests call its parts).
 */
export async function startIngestion(env: Record<string, string> = {}, opts: { consumers?: boolean } = {}) {
  const service = await startTestService(ingestion, {
    env,
    consumers: opts.consumers ?? false,
    jobs: ["database changes"],
    // the registry's topics, so that tests can publish as the registry does
    topics: [
      topics.registryIdentity,
      topics.registryOrganization,
      topics.registryMembership,
      topics.registrySite,
      topics.registryDevice,
      topics.registryDer,
    ],
  });
  return {
    ...service,
    kafka: service.ctx.kafka,
    producer: service.ctx.producer,
    ingestor: service.ctx.ingestor,
    /** a bearer token as the registry issues it (ES256); a gateway's unless `typ` says otherwise */
    tokenFor: (sub: string, typ = "gateway", claims: { key?: string } = {}) =>
      service.tokenFor(sub, typ, claims),
    auth: (sub: string, typ = "gateway") => service.auth(sub, typ),
  };
}
export type Ingestion = Awaited<ReturnType<typeof startIngestion>>;

/** A site with one device served by `gatewayId` and one DER per type given; written as the projection would. */
export async function seedSite(
  db: Ingestion["db"],
  opts: {
    orgId: string;
    siteId: string;
    deviceId: string;
    gatewayId: string | null;
    ders: Record<string, "solar" | "battery" | "meter" | "ev_charger_port">;
    deviceType?: string;
    timezone?: string;
    members?: string[];
  },
) {
  await db.site.upsert({
    where: { id: opts.siteId },
    create: {
      id: opts.siteId,
      orgId: opts.orgId,
      name: opts.siteId,
      timezone: opts.timezone ?? "Europe/Stockholm",
    },
    update: {},
  });
  await db.device.create({
    data: {
      id: opts.deviceId,
      orgId: opts.orgId,
      siteId: opts.siteId,
      type: opts.deviceType ?? "inverter",
      name: opts.deviceId,
      state: "pending",
      commIdentityId: opts.gatewayId,
    },
  });
  for (const [derId, derType] of Object.entries(opts.ders)) {
    await db.der.create({
      data: {
        id: derId,
        deviceId: opts.deviceId,
        siteId: opts.siteId,
        orgId: opts.orgId,
        derType,
        name: derId,
      },
    });
  }
  for (const identityId of opts.members ?? []) {
    await db.membership.upsert({
      where: { orgId_identityId: { orgId: opts.orgId, identityId } },
      create: { orgId: opts.orgId, identityId, role: "viewer" },
      update: {},
    });
  }
}
