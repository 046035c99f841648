import { consumersFor } from "@energy/kafka";
import type { BaseContext, ServiceContext } from "@energy/service-kit";
import type { CentralSystem } from "./central/central-system.ts";
import type { Commands } from "./central/commands.ts";
import type { TlsEndpoint } from "./central/tls-endpoint.ts";
import type { Config } from "./config.ts";
import type { Db, Tx } from "./db.ts";

export type { Tx };

/** What ocpp's routes, consumers and jobs share (built by the runtime: see service.ts). */
export interface OcppShared {
  /** this instance's id in the routing table of commands (charger_session, service_instance) */
  instanceId: string;
  /** the OCPP-J websocket endpoint and the sessions this instance holds */
  central: CentralSystem;
  /** carries out commands from HTTP and ocpp.command.v1 */
  commands: Commands;
  /** the wss listener (security profile 2) when OCPP_TLS_PORT is set */
  tls: TlsEndpoint | null;
}

/** What buildApp gets: the runtime's base and the shared objects. */
export type OcppAppContext = BaseContext<Config, Db> & OcppShared;

export type OcppContext = ServiceContext<Config, Db, OcppShared>;

/** Subscriptions typed for ocpp's transaction and context: one file per consumed topic uses them. */
export const { defineSubscription } = consumersFor<Tx, OcppContext>();
