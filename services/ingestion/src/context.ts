import { consumersFor } from "@energy/kafka";
import type { ServiceContext } from "@energy/service-kit";
import type { Config } from "./config.ts";
import type { Db } from "./db.ts";
import type { DbChanges } from "./db-changes.ts";
import type { Prisma } from "./generated/prisma/client.ts";
import type { Ingestor } from "./ingest/ingestor.ts";
import type { StoreLagMonitor } from "./store/store-lag.ts";

/** A transaction of ingestion's database (what a consumer's handler gets as `tx`). */
export type Tx = Prisma.TransactionClient;

/** What ingestion's routes, consumers and jobs share (built by the runtime: see service.ts). */
export interface IngestionShared {
  /** validates and publishes gateway batches, for every way in (HTTP, WebSocket, raw Kafka batches) */
  ingestor: Ingestor;
  /** tells what is kept in memory from the database when it changes (started by the "database changes" job) */
  dbChanges: DbChanges;
  /** how far the telemetry store is behind (started by the "store lag monitor" job; gateways are slowed by it) */
  storeLag: StoreLagMonitor;
}

export type IngestionContext = ServiceContext<Config, Db, IngestionShared>;

/** Subscriptions typed for ingestion's transaction and context: one file per consumed topic uses them. */
export const { defineSubscription, defineBatchSubscription } = consumersFor<Tx, IngestionContext>();
