import { fileURLToPath } from "node:url";
import { defineService } from "@energy/service-kit";
import { buildApp } from "./app.ts";
import { ClaimWatcher } from "./chain/claim-watcher.ts";
import { connectChain } from "./chain/connect.ts";
import { ChainSender } from "./chain/sender.ts";
import { ConfigSchema } from "./config.ts";
import { issuanceRequests } from "./consumers/issuance-requests.ts";
import { registryMemberships } from "./consumers/registry-memberships.ts";
import { registryOrganizations } from "./consumers/registry-organizations.ts";
import { reservations } from "./consumers/reservations.ts";
import { closeDb, createDb } from "./db.ts";

/**
 * Certificate, declared: the runtime (packages/service-kit) builds config → database → producer → outbox
 * relay → the chain connection and sender → app → consumer groups → the chain sender's loop and the
 * watcher of self-custody claims on chain, and closes
 * them in reverse. Issuance requests and reservations have groups of their own, so a backlog of one
 * never holds up the other.
 */
export const certificate = defineService({
  name: "certificate",
  dir: fileURLToPath(new URL("..", import.meta.url)),
  configSchema: ConfigSchema,
  database: { create: (config) => createDb(config.DATABASE_URL), close: closeDb },
  context: async ({ config, db, published }) => {
    const chain = await connectChain(config, db);
    const sender = new ChainSender({
      db,
      provider: chain.provider,
      wallet: chain.wallet,
      registryAddress: chain.registryAddress,
      chainId: chain.chainId,
      config,
      published,
    });
    const nudge = () => {
      sender.nudge();
      published();
    };
    return { chain, sender, nudge };
  },
  app: buildApp,
  consumers: [
    { group: "issuance-requests", subscriptions: [issuanceRequests] },
    { group: "reservations", subscriptions: [reservations] },
    // who may read and claim an organization's certificates
    { group: "registry-projection", subscriptions: [registryOrganizations, registryMemberships] },
  ],
  jobs: [
    {
      // nonces reconciled with the chain, then the loop that signs, sends, replaces and confirms
      name: "chain sender",
      start: async ({ sender, chain, log }) => {
        sender.useLog(log);
        log.info({ registry: chain.registryAddress, chainId: chain.chainId }, "certificate registry");
        await sender.start();
        return {
          stop: async () => {
            await sender.stop();
            chain.provider.destroy();
          },
        };
      },
    },
    {
      // claims made on chain with the owners' own keys (self-custody), read from the registry's events
      name: "chain claims",
      start: ({ db, chain, config, log, app, published }) => {
        const watcher = new ClaimWatcher({
          db,
          provider: chain.provider,
          registryAddress: chain.registryAddress,
          chainId: chain.chainId,
          signer: chain.wallet.address,
          config,
          log,
          metrics: app.metrics,
          published,
        });
        watcher.start();
        return { stop: () => watcher.stop() };
      },
    },
  ],
});
