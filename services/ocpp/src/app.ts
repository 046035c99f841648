import { MemberRoleSchema } from "@energy/contracts";
import { outboxReadiness } from "@energy/kafka";
import { createApp, createOrgGuard } from "@energy/service-kit";
import { CentralSystem } from "./central/central-system.ts";
import { Commands } from "./central/commands.ts";
import type { Config } from "./config.ts";
import type { Db } from "./db.ts";
import { v16Handlers } from "./handlers/v16/index.ts";
import { v201Handlers } from "./handlers/v201/index.ts";
import { chargerPasswordRoutes } from "./routes/charger-passwords.ts";
import { chargerRoutes } from "./routes/chargers.ts";
import { commandRoutes } from "./routes/commands.ts";
import { idTagRoutes } from "./routes/id-tags.ts";

export interface AppDeps {
  config: Config;
  db: Db;
  /** This instance's id in the routing table (charger_session). */
  instanceId: string;
  /** readiness of the Kafka producer */
  kafkaReady: () => Promise<unknown>;
  /** wakes the outbox relay after a transaction that recorded events */
  published: () => void;
}

/**
 * The ocpp app: the HTTP API (fastify) and, on the same server, the OCPP-J websocket endpoint at
 * /ocpp/<chargePointId>. Built without listening, so tests drive the HTTP side with app.inject().
 */
export async function buildApp(deps: AppDeps) {
  const { config, db } = deps;
  const app = await createApp({
    name: "ocpp",
    description:
      "OCPP central system: chargers over OCPP 1.6J and 2.0.1 websockets (/ocpp/<chargePointId>), their " +
      "connectors and transactions, passwords and id tags, and commands to chargers.",
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
  const central = new CentralSystem({
    db,
    config,
    instanceId: deps.instanceId,
    handlers: { "1.6": v16Handlers, "2.0.1": v201Handlers },
    published: deps.published,
    log: app.log,
  });
  central.attach(app.server);
  // Chargers are told to go before the HTTP server stops taking requests.
  app.addHook("preClose", async () => central.close());

  const commands = new Commands({
    db,
    config,
    central,
    instanceId: deps.instanceId,
    published: deps.published,
    log: app.log,
  });

  const routes = { db, requireOrgRole };
  await app.register(chargerRoutes(routes));
  await app.register(chargerPasswordRoutes(routes));
  await app.register(idTagRoutes(routes));
  await app.register(
    commandRoutes({ ...routes, commands, timeoutMs: config.COMMAND_TIMEOUT_SECONDS * 1000 }),
  );
  return Object.assign(app, { central, commands, requireOrgRole });
}
export type OcppApp = Awaited<ReturnType<typeof buildApp>>;
