import { MemberRoleSchema } from "@energy/contracts";
import { type BaseContext, createApp, createOrgGuard } from "@energy/service-kit";
import type { Config } from "./config.ts";
import { type Db, query } from "./db.ts";
import { readQueryRoutes } from "./routes/read-queries.ts";
import { readSourceRoutes } from "./routes/read-source.ts";
import { readRoutes } from "./routes/reads.ts";
import { refusedReadRoutes } from "./routes/refused-reads.ts";

/**
 * The meter-read HTTP app, built by the runtime (service.ts) without listening: its readiness checks
 * (database, Kafka, outbox) and `published` (wakes the outbox relay) come from the runtime's context.
 */
export async function buildApp(ctx: BaseContext<Config, Db>) {
  const { config, db } = ctx;
  const app = await createApp({
    name: "meter-read",
    description:
      "D-REC meter reads (history, delta, aggregate) in whole Wh, checked and kept with their refusals; reads " +
      "from telemetry; energy per period; meter-read.read.v1 out.",
    config,
    bodyLimit: config.BODY_MAX_BYTES,
    readiness: ctx.readiness,
  });
  // Plain pg (as every request asks): a Prisma query costs more CPU than answering a small GET.
  const requireOrgRole = createOrgGuard(async (identityId, orgId) => {
    const [membership] = await query<Array<{ role: string }>>(
      db,
      "SELECT role FROM membership WHERE org_id = $1 AND identity_id = $2",
      orgId,
      identityId,
    );
    return membership ? MemberRoleSchema.parse(membership.role) : null;
  });
  const routeDeps = { db, requireOrgRole };
  await app.register(
    readRoutes({
      ...routeDeps,
      maxReads: config.BATCH_MAX_READS,
      futureToleranceMs: config.FUTURE_TOLERANCE_SECONDS * 1000,
      published: ctx.published,
    }),
  );
  await app.register(readQueryRoutes(routeDeps));
  await app.register(refusedReadRoutes(routeDeps));
  await app.register(readSourceRoutes(routeDeps));
  return Object.assign(app, { requireOrgRole });
}
