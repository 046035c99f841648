import { fileURLToPath } from "node:url";
import { defineService } from "@energy/service-kit";
import { buildApp } from "./app.ts";
import { ConfigSchema } from "./config.ts";
import { ingestionInterval } from "./consumers/ingestion-interval.ts";
import { registryDevice } from "./consumers/registry-device.ts";
import { registryMembership } from "./consumers/registry-membership.ts";
import { registryOrganization } from "./consumers/registry-organization.ts";
import { registrySite } from "./consumers/registry-site.ts";
import { closeDb, createDb } from "./db.ts";
import { RELAY_BATCH_SIZE } from "./reads/store.ts";

/**
 * meter-read, declared: the runtime (packages/service-kit) builds config → database → producer → outbox
 * relay → app → consumer groups, and closes them in reverse.
 */
export const meterRead = defineService({
  name: "meter-read",
  dir: fileURLToPath(new URL("..", import.meta.url)),
  configSchema: ConfigSchema,
  database: { create: (config) => createDb(config.DATABASE_URL), close: closeDb },
  app: buildApp,
  consumers: [
    {
      // meter-read's copy of what it needs from the registry: snapshots upserted, applied once per event
      // (processed_message), so replaying from the start rebuilds the same tables
      group: "registry-projection",
      subscriptions: [registryOrganization, registryMembership, registrySite, registryDevice],
    },
    // reads from telemetry, one interval per call: a retry applies only the interval that failed (applying
    // an earlier one of the chunk again would move its read back a version); see consumers/ingestion-interval.ts
    { group: "ingestion-interval", batch: { maxBatchSize: 1 }, subscriptions: [ingestionInterval] },
  ],
  // counted reads go out ~85 KB per message: a few per relay send stay under the broker's 1 MB
  outboxBatchSize: RELAY_BATCH_SIZE,
});
