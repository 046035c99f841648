import { fileURLToPath } from "node:url";
import { topics } from "@energy/contracts";
import { defineService } from "@energy/service-kit";
import { buildApp } from "./app.ts";
import { ConfigSchema } from "./config.ts";
import { ocppReadings } from "./consumers/ocpp-readings.ts";
import { rawBatches } from "./consumers/raw-batches.ts";
import { registryDers } from "./consumers/registry-ders.ts";
import { registryDevices } from "./consumers/registry-devices.ts";
import { registryIdentities } from "./consumers/registry-identities.ts";
import { registryMemberships } from "./consumers/registry-memberships.ts";
import { registryOrganizations } from "./consumers/registry-organizations.ts";
import { registrySites } from "./consumers/registry-sites.ts";
import { STORE_CHUNK_MESSAGES, STORE_CONSUMERS, telemetryStore } from "./consumers/telemetry-store.ts";
import { closeDb, createDb } from "./db.ts";
import { DbChanges } from "./db-changes.ts";
import { startHousekeeping } from "./housekeeping.ts";
import { DerScopes } from "./ingest/der-scopes.ts";
import { Ingestor } from "./ingest/ingestor.ts";
import { StoreLagMonitor } from "./store/store-lag.ts";

/** The telemetry store's consumer group (the store lag monitor watches it). */
const STORE_GROUP = "telemetry-store";

/**
 * Ingestion, declared: the runtime (packages/service-kit) builds config → database → producer → outbox
 * relay → the shared Ingestor → app → consumer groups → housekeeping, and closes them in reverse.
 */
export const ingestion = defineService({
  name: "ingestion",
  dir: fileURLToPath(new URL("..", import.meta.url)),
  configSchema: ConfigSchema,
  database: { create: (config) => createDb(config.DATABASE_URL), close: closeDb },
  context: ({ db, producer, admin, config, published }) => {
    const dbChanges = new DbChanges(config.DATABASE_URL);
    return {
      dbChanges,
      storeLag: new StoreLagMonitor({
        admin,
        groupId: `${config.KAFKA_TOPIC_PREFIX}ingestion.${STORE_GROUP}`,
        topic: `${config.KAFKA_TOPIC_PREFIX}${topics.ingestionTelemetry.name}`,
      }),
      ingestor: new Ingestor({
        db,
        scopes: new DerScopes(db.pool, dbChanges),
        producer,
        timestamps: {
          earliestMs: Date.parse(config.MIN_READING_TIMESTAMP),
          futureToleranceMs: config.FUTURE_TOLERANCE_SECONDS * 1000,
        },
        published,
      }),
    };
  },
  app: buildApp,
  consumers: [
    {
      // ingestion's copy of what it needs from the registry, applied once per event (processed_message)
      group: "registry-projection",
      subscriptions: [
        registryIdentities,
        registryMemberships,
        registryOrganizations,
        registrySites,
        registryDevices,
        registryDers,
      ],
    },
    {
      // in a worker thread of the service: its chunks never hold up the acknowledgements (see README)
      group: STORE_GROUP,
      // three kafkajs consumers of the group, two of the topic's six partitions each: a consumer fetches again
      // only once its last fetch is applied, so with one the database idles while it fetches and decodes.
      // Chunks of 32 messages (each one DER's readings from one batch: ~4,000 readings from busy gateways,
      // one transaction): offsets are committed after each, so the store lag, read from the committed offsets,
      // is known to a fraction of a second (after chunks of 500 it was seconds stale, and the bound overshot).
      // A fetch waits for 256 KiB or 250 ms: under a steady flow below full speed the store takes fewer,
      // larger chunks (at half the bench's full rate the machine used 1.30-1.47 cores instead of 1.67-1.72)
      batch: {
        maxBatchSize: STORE_CHUNK_MESSAGES,
        consumers: STORE_CONSUMERS,
        partitionsConsumedConcurrently: 1,
        minBytes: 256 * 1024,
      },
      maxWaitTimeMs: 250,
      subscriptions: [telemetryStore],
      // at nice 10: where the host is short of CPU, acknowledgements go first (the lag bound slows gateways
      // if the store falls behind)
      thread: { module: import.meta.url, export: "ingestion", nice: 10 },
    },
    { group: "raw-batches", batch: { maxBatchSize: 50 }, subscriptions: [rawBatches] },
    // charger readings from the ocpp service, through the same Ingestor as a gateway's
    { group: "ocpp-readings", batch: { maxBatchSize: 500 }, subscriptions: [ocppReadings] },
  ],
  jobs: [
    {
      // what is kept in memory from the database (the acknowledgement path's DERs, revocations) is
      // trusted while this listens for the tables' changes
      name: "database changes",
      start: async ({ dbChanges, log }) => {
        await dbChanges.start(log);
        return { stop: () => dbChanges.stop() };
      },
    },
    {
      // how far the telemetry store is behind: gateways are slowed past STORE_LAG_MAX_SECONDS / 2
      name: "store lag monitor",
      start: ({ storeLag, app }) => {
        storeLag.registerMetrics(app.metrics);
        storeLag.start();
        return { stop: () => storeLag.stop() };
      },
    },
    {
      name: "housekeeping",
      start: ({ db, config, published, log }) => startHousekeeping({ db, config, published, log }),
    },
  ],
});
