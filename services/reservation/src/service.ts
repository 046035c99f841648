import { fileURLToPath } from "node:url";
import { defineService } from "@energy/service-kit";
import { buildApp } from "./app.ts";
import { ConfigSchema } from "./config.ts";
import { certificateResults } from "./consumers/certificate-results.ts";
import { meterReads } from "./consumers/meter-reads.ts";
import { registryDevice } from "./consumers/registry-device.ts";
import { registryMembership } from "./consumers/registry-membership.ts";
import { registryOrganization } from "./consumers/registry-organization.ts";
import { closeDb, createDb } from "./db.ts";
import { IssuanceWakeup, issuanceOptions, startIssuance } from "./issuance.ts";

/**
 * The reservation service, declared: the runtime (packages/service-kit) builds config → database →
 * producer → outbox relay → app → consumer groups → the issuance job, and closes them in reverse.
 */
export const reservation = defineService({
  name: "reservation",
  dir: fileURLToPath(new URL("..", import.meta.url)),
  configSchema: ConfigSchema,
  database: { create: (config) => createDb(config.DATABASE_URL), close: closeDb },
  context: ({ published }) => {
    const issuanceWakeup = new IssuanceWakeup();
    return {
      issuanceWakeup,
      reservationsChanged: () => {
        published();
        issuanceWakeup.nudge();
      },
    };
  },
  app: buildApp,
  consumers: [
    {
      // the registry projections and certificate results: small, ordered per entity, one group
      group: "projections",
      subscriptions: [registryOrganization, registryMembership, registryDevice, certificateResults],
    },
    // meter reads have a group of their own, so a backlog of reads never delays a device or a result;
    // applied in chunks of messages (each up to 1,000 reads), one transaction a chunk (consumers/meter-reads.ts)
    { group: "meter-reads", batch: { maxBatchSize: 50 }, subscriptions: [meterReads] },
  ],
  jobs: [
    {
      // due windows, late reads and expired reservations, every ISSUANCE_INTERVAL_MS and at each change
      name: "issuance",
      start: (ctx) =>
        startIssuance(
          {
            ...issuanceOptions({ ...ctx, log: ctx.log.child({ part: "issuance" }) }),
            intervalMs: ctx.config.ISSUANCE_INTERVAL_MS,
          },
          ctx.issuanceWakeup,
        ),
    },
  ],
});
