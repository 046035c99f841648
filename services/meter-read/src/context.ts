import { consumersFor } from "@energy/kafka";
import type { ServiceContext } from "@energy/service-kit";
import type { Config } from "./config.ts";
import type { Db } from "./db.ts";
import type { Prisma } from "./generated/prisma/client.ts";

/** A transaction of meter-read's database (what a consumer's handler gets as `tx`). */
export type Tx = Prisma.TransactionClient;

/** What meter-read's consumers get as `ctx.service` (built by the runtime: see service.ts). */
export type MeterReadContext = ServiceContext<Config, Db>;

/** Subscriptions typed for meter-read's transaction and context: one file per consumed topic uses them. */
export const { defineSubscription, defineBatchSubscription } = consumersFor<Tx, MeterReadContext>();
