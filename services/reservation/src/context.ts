import { consumersFor } from "@energy/kafka";
import type { ServiceContext } from "@energy/service-kit";
import type { Config } from "./config.ts";
import type { Db } from "./db.ts";
import type { Prisma } from "./generated/prisma/client.ts";
import type { IssuanceWakeup } from "./issuance.ts";

/** A transaction of the reservation database (what a consumer's handler gets as `tx`). */
export type Tx = Prisma.TransactionClient;

/** What the reservation's routes, consumers and jobs share (built by the runtime: see service.ts). */
export interface ReservationShared {
  /** wakes the issuance job before its next tick */
  issuanceWakeup: IssuanceWakeup;
  /**
   * Call after a transaction that changed reservations: wakes the outbox relay (the events it recorded) and
   * the issuance job (a reservation starting in the past has windows to request now).
   */
  reservationsChanged: () => void;
}

export type ReservationContext = ServiceContext<Config, Db, ReservationShared>;

/** Subscriptions typed for the reservation's transaction and context: one file per consumed topic uses them. */
export const { defineSubscription, defineBatchSubscription } = consumersFor<Tx, ReservationContext>();
