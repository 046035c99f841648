import type { OcppVersion } from "@energy/contracts";
import type { Config } from "../config.ts";
import type { Db, Tx } from "../db.ts";

/** Which registry device a connected charger is. */
export interface ChargerIdentity {
  chargePointId: string;
  orgId: string;
  /** ev_charger or v2x_charger */
  deviceType: string;
  make: string | null;
}

/** What one connection knows about its charger between calls. */
export interface ConnectionState {
  /** Accepted, Pending, Rejected, or null before a BootNotification was ever answered. */
  bootStatus: string | null;
  /** Messages asked for with a TriggerMessage and not received yet (a Pending charger may send them). */
  triggered: Set<string>;
}

export interface CallContext {
  db: Db;
  tx: Tx;
  config: Config;
  version: OcppVersion;
  charger: ChargerIdentity;
  connection: ConnectionState;
  messageId: string;
  receivedAt: Date;
  /** The charger's messages get the instance's correlation ids: the call's message id. */
  correlationId: string;
}

/**
 * One OCPP action of one version: params were checked by ocpp-rpc's strict mode against the version's
 * JSON schema, so handlers read them as the schema says. Everything a handler changes goes through `tx`
 * (events into the outbox in the same transaction).
 */
// biome-ignore lint/suspicious/noExplicitAny: each handler narrows its own params (checked by the version's schema)
export type ActionHandler<P = any, R = Record<string, unknown>> = (ctx: CallContext, params: P) => Promise<R>;
