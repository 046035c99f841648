import { MemberRoleSchema } from "@energy/contracts";
import { outboxReadiness } from "@energy/kafka";
import { createApp, createOrgGuard } from "@energy/service-kit";
import type { Config } from "./config.ts";
import type { Db } from "./db.ts";
import { candidateRoutes } from "./routes/candidates.ts";
import { reservationRoutes } from "./routes/reservations.ts";
import { windowRoutes } from "./routes/windows.ts";

export interface AppDeps {
  config: Config;
  db: Db;
  /** readiness of the Kafka producer */
  kafkaReady: () => Promise<unknown>;
  /** wakes the outbox relay (and issuance) after a transaction that recorded events */
  published: () => void;
}

/** The reservation HTTP app: built without listening, so tests drive it with app.inject(). */
export async function buildApp(deps: AppDeps) {
  const { config, db } = deps;
  const app = await createApp({
    name: "reservation",
    description:
      "Buyer reservations of devices (one buyer per device, 12-hour cool-down), device grouping across " +
      "organizations of a country, issuance windows by frequency, issuance requests and their counters.",
    config,
    readiness: {
      database: () => db.$queryRawUnsafe("SELECT 1"),
      kafka: deps.kafkaReady,
      outbox: outboxReadiness(db, { maxPendingAgeMs: config.OUTBOX_MAX_PENDING_AGE_SECONDS * 1000 }),
    },
  });
  const requireOrgRole = createOrgGuard(async (identityId, orgId) => {
    const membership = await db.membership.findUnique({ where: { orgId_identityId: { orgId, identityId } } });
    return membership ? MemberRoleSchema.parse(membership.role) : null;
  });
  const routeDeps = {
    db,
    requireOrgRole,
    published: deps.published,
    defaultYieldKwhPerKwpYear: config.DEFAULT_YIELD_KWH_PER_KWP_YEAR,
  };
  await app.register(reservationRoutes(routeDeps));
  await app.register(windowRoutes(routeDeps));
  await app.register(candidateRoutes(routeDeps));
  return app;
}
