import { consumersFor } from "@energy/kafka";
import type { ServiceContext } from "@energy/service-kit";
import type { Chain } from "./chain/connect.ts";
import type { ChainSender } from "./chain/sender.ts";
import type { Config } from "./config.ts";
import type { Db } from "./db.ts";
import type { Prisma } from "./generated/prisma/client.ts";

/** A transaction of the certificate database (what a consumer's handler gets as `tx`). */
export type Tx = Prisma.TransactionClient;

/** What certificate's routes, consumers and jobs share (built by the runtime: see service.ts). */
export interface CertificateShared {
  /** the chain connection: provider, the issuer's wallet, chain id, the registry contract's address */
  chain: Chain;
  /** the chain-transaction outbox (started by the "chain sender" job) */
  sender: ChainSender;
  /** wakes the chain sender and the outbox relay: call after committing work for either */
  nudge: () => void;
}

export type CertificateContext = ServiceContext<Config, Db, CertificateShared>;

/** Subscriptions typed for certificate's transaction and context: one file per consumed topic uses them. */
export const { defineSubscription } = consumersFor<Tx, CertificateContext>();
