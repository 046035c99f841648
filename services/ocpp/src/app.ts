import { MemberRoleSchema } from "@energy/contracts";
import { type App, createApp, createOrgGuard } from "@energy/service-kit";
import type { OcppAppContext } from "./context.ts";
import { chargerPasswordRoutes } from "./routes/charger-passwords.ts";
import { chargerRegistrationRoutes } from "./routes/charger-registration.ts";
import { chargerRoutes } from "./routes/chargers.ts";
import { chargingLimitRoutes } from "./routes/charging-limits.ts";
import { commandRoutes } from "./routes/commands.ts";
import { deviceEventRoutes } from "./routes/device-events.ts";
import { deviceModelRoutes } from "./routes/device-model.ts";
import { idTagRoutes } from "./routes/id-tags.ts";
import { reservationRoutes } from "./routes/reservations.ts";
import { securityEventRoutes } from "./routes/security-events.ts";

/**
 * The ocpp app: the HTTP API (fastify). The OCPP-J websocket endpoint at /ocpp/<chargePointId> shares its
 * server: the runtime attaches the central system at start (service.ts). Built without listening, so
 * tests drive the HTTP side with app.inject().
 */
export async function buildApp(ctx: OcppAppContext): Promise<App> {
  const { config, db, commands } = ctx;
  const app = await createApp({
    name: "ocpp",
    description:
      "OCPP central system: chargers over OCPP 1.6J and 2.0.1 websockets (/ocpp/<chargePointId>), their " +
      "connectors and transactions, passwords and id tags, and commands to chargers.",
    config,
    readiness: ctx.readiness,
  });
  const requireOrgRole = createOrgGuard(async (identityId, orgId) => {
    const membership = await db.membership.findUnique({ where: { orgId_identityId: { orgId, identityId } } });
    return membership ? MemberRoleSchema.parse(membership.role) : null;
  });
  const routes = { db, requireOrgRole };
  await app.register(chargerRoutes(routes));
  await app.register(chargerPasswordRoutes(routes));
  await app.register(chargerRegistrationRoutes({ ...routes, commands, published: ctx.published }));
  await app.register(idTagRoutes(routes));
  await app.register(reservationRoutes(routes));
  await app.register(chargingLimitRoutes(routes));
  await app.register(deviceModelRoutes(routes));
  await app.register(deviceEventRoutes(routes));
  await app.register(securityEventRoutes(routes));
  await app.register(
    commandRoutes({ ...routes, commands, timeoutMs: config.COMMAND_TIMEOUT_SECONDS * 1000 }),
  );
  return app;
}
