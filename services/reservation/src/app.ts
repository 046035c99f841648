import { MemberRoleSchema } from "@energy/contracts";
import { type BaseContext, createApp, createOrgGuard } from "@energy/service-kit";
import type { Config } from "./config.ts";
import type { ReservationShared } from "./context.ts";
import type { Db } from "./db.ts";
import { candidateRoutes } from "./routes/candidates.ts";
import { reservationRoutes } from "./routes/reservations.ts";
import { windowRoutes } from "./routes/windows.ts";

/**
 * The reservation HTTP app, built by the runtime (service.ts) without listening: its readiness checks
 * (database, Kafka, outbox) come from the runtime's context, `reservationsChanged` from context.ts.
 */
export async function buildApp(ctx: BaseContext<Config, Db> & ReservationShared) {
  const { config, db } = ctx;
  const app = await createApp({
    name: "reservation",
    description:
      "Buyer reservations of devices (one buyer per device, 12-hour cool-down), device grouping across " +
      "organizations of a country, issuance windows by frequency, issuance requests and their counters.",
    config,
    readiness: ctx.readiness,
  });
  const requireOrgRole = createOrgGuard(async (identityId, orgId) => {
    const membership = await db.membership.findUnique({ where: { orgId_identityId: { orgId, identityId } } });
    return membership ? MemberRoleSchema.parse(membership.role) : null;
  });
  const routeDeps = {
    db,
    requireOrgRole,
    published: ctx.reservationsChanged,
    defaultYieldKwhPerKwpYear: config.DEFAULT_YIELD_KWH_PER_KWP_YEAR,
  };
  await app.register(reservationRoutes(routeDeps));
  await app.register(windowRoutes(routeDeps));
  await app.register(candidateRoutes(routeDeps));
  return app;
}
