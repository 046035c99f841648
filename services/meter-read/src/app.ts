import { MemberRoleSchema } from "@energy/contracts";
import { outboxReadiness } from "@energy/kafka";
import { createApp, createOrgGuard } from "@energy/service-kit";
import type { Config } from "./config.ts";
import type { Db } from "./db.ts";
import { readQueryRoutes } from "./routes/read-queries.ts";
import { readRoutes } from "./routes/reads.ts";
import { refusedReadRoutes } from "./routes/refused-reads.ts";

export interface AppDeps {
  config: Config;
  db: Db;
  /** readiness of the Kafka producer */
  kafkaReady: () => Promise<unknown>;
  /** wakes the outbox relay after a transaction that recorded events */
  published: () => void;
}

/** The meter-read HTTP app: built without listening, so tests drive it with app.inject(). */
export async function buildApp(deps: AppDeps) {
  const { config, db } = deps;
  const app = await createApp({
    name: "meter-read",
    description:
      "D-REC meter reads (history, delta, aggregate) in whole Wh, checked and kept with their refusals; reads " +
      "from telemetry; energy per period; meter-read.read.v1 out.",
    config,
    bodyLimit: config.BODY_MAX_BYTES,
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
  const routeDeps = { db, requireOrgRole };
  await app.register(
    readRoutes({
      ...routeDeps,
      maxReads: config.BATCH_MAX_READS,
      futureToleranceMs: config.FUTURE_TOLERANCE_SECONDS * 1000,
      published: deps.published,
    }),
  );
  await app.register(readQueryRoutes(routeDeps));
  await app.register(refusedReadRoutes(routeDeps));
  return Object.assign(app, { requireOrgRole });
}
