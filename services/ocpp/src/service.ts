import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { defineService } from "@energy/service-kit";
import { buildApp } from "./app.ts";
import { CentralSystem } from "./central/central-system.ts";
import { Commands } from "./central/commands.ts";
import { startInstanceLoop } from "./central/instance.ts";
import { registerCentralMetrics } from "./central/metrics.ts";
import { startReservationExpiry } from "./central/reservations.ts";
import { TlsEndpoint } from "./central/tls-endpoint.ts";
import { ConfigSchema } from "./config.ts";
import { ocppCommands } from "./consumers/commands.ts";
import { registryDers } from "./consumers/registry-ders.ts";
import { registryDevices } from "./consumers/registry-devices.ts";
import { registryMemberships } from "./consumers/registry-memberships.ts";
import { registryOrganizations } from "./consumers/registry-organizations.ts";
import type { OcppShared } from "./context.ts";
import { closeDb, createDb } from "./db.ts";
import { v16Handlers } from "./handlers/v16/index.ts";
import { v201Handlers } from "./handlers/v201/index.ts";

/**
 * The ocpp service, declared: the runtime (packages/service-kit) builds config → database → producer →
 * outbox relay → the central system and commands → app → the websocket endpoint on the app's server →
 * the registry projection and command consumers → the instance loop, and closes them in reverse. Chargers
 * are told to go (their disconnections recorded) before the HTTP server stops taking requests.
 */
export const ocpp = defineService({
  name: "ocpp",
  dir: fileURLToPath(new URL("..", import.meta.url)),
  configSchema: ConfigSchema,
  // a boot storm queues thousands of charger transactions behind the pool
  database: { create: (config) => createDb(config.DATABASE_URL, 20), close: closeDb },
  context: ({ db, config, published }): OcppShared => {
    const instanceId = config.INSTANCE_ID ?? `ocpp-${randomUUID().slice(0, 8)}`;
    const central = new CentralSystem({
      db,
      config,
      instanceId,
      handlers: { "1.6": v16Handlers, "2.0.1": v201Handlers },
      published,
    });
    const commands = new Commands({ db, config, central, instanceId, published });
    // security profile 2: the same endpoint behind TLS, on its own port (certificate files read here)
    const tls =
      config.OCPP_TLS_PORT === undefined
        ? null
        : new TlsEndpoint({
            central,
            host: config.HOST,
            port: config.OCPP_TLS_PORT,
            certFile: config.OCPP_TLS_CERT_FILE!,
            keyFile: config.OCPP_TLS_KEY_FILE!,
          });
    return { instanceId, central, commands, tls };
  },
  app: buildApp,
  onStart: async ({ app, central, commands, tls, config }) => {
    // the OCPP-J endpoint answers upgrades on the app's server once it listens, and on the TLS port
    central.attach(app, { plainWs: config.OCPP_PLAIN_WS });
    registerCentralMetrics(app.metrics, central);
    commands.attach(app);
    if (tls) {
      await tls.listen(app.log.child({ component: "tls-endpoint" }));
      app.addHook("onClose", () => tls.close());
    }
    // chargers are told to go, and their disconnections recorded, before the HTTP server closes
    app.addHook("preClose", () => central.close());
  },
  consumers: [
    {
      // the registry data the central system needs: charger devices (who may connect), their
      // ev_charger_port DERs (where readings go) and memberships (who may command them); snapshots are
      // upserted, so a replay from the start rebuilds the same tables
      group: "registry-projection",
      subscriptions: [registryDevices, registryDers, registryMemberships, registryOrganizations],
    },
    {
      // commands from Kafka, in a group per instance (`ocpp.commands.<instanceId>`): every instance sees
      // every command and the one holding the socket sends it; no processed_message (shared by instances)
      group: "commands",
      groupId: ({ instanceId }) => `commands.${instanceId}`,
      transactional: false,
      fromBeginning: false,
      maxWaitTimeMs: 100,
      subscriptions: [ocppCommands],
    },
  ],
  jobs: [
    {
      // the routing table's heartbeat, superseded sockets and command timeouts
      name: "instance loop",
      start: ({ db, central, commands, instanceId, config, log }) =>
        startInstanceLoop({
          db,
          central,
          commands,
          instanceId,
          intervalMs: config.INSTANCE_LOOP_INTERVAL_MS,
          log: log.child({ loop: "instance" }),
        }),
    },
    {
      // reservations whose expiry passed unused become expired (any instance; each expired once)
      name: "reservation expiry",
      start: ({ db, config, published, log }) =>
        startReservationExpiry({
          db,
          intervalMs: config.RESERVATION_EXPIRY_INTERVAL_MS,
          published,
          log: log.child({ job: "reservation-expiry" }),
        }),
    },
  ],
});
