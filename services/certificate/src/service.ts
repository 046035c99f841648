import { ConsumerRunner, createKafka, EventProducer, type Logger, OutboxRelay } from "@energy/kafka";
import { connectChain } from "./chain/connect.ts";
import { ChainSender } from "./chain/sender.ts";
import type { Config } from "./config.ts";
import { issuanceRequests } from "./consumers/issuance-requests.ts";
import { registryMemberships } from "./consumers/registry-memberships.ts";
import { registryOrganizations } from "./consumers/registry-organizations.ts";
import { reservations } from "./consumers/reservations.ts";
import type { Db } from "./db.ts";

export const ISSUANCE_GROUP_ID = "certificate.issuance-requests";
export const RESERVATION_GROUP_ID = "certificate.reservations";
export const REGISTRY_GROUP_ID = "certificate.registry-projection";

/**
 * The service's moving parts apart from HTTP: Kafka producer and outbox relay, the chain connection and
 * sender, and the consumers (issuance requests and reservations on their own groups, so a backlog of
 * one never holds up the other). server.ts and the tests wire the same parts.
 */
export async function createParts(config: Config, db: Db, log: Logger) {
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: "certificate" });
  const producer = new EventProducer(kafka, {
    source: "certificate",
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
  });
  await producer.connect();
  const relay = new OutboxRelay({ db, producer, pollIntervalMs: 200, logger: log });
  const chain = await connectChain(config, db);
  const sender = new ChainSender({
    db,
    provider: chain.provider,
    wallet: chain.wallet,
    registryAddress: chain.registryAddress,
    chainId: chain.chainId,
    config,
    log,
    published: () => relay.nudge(),
  });
  const group = (name: string) => `${config.KAFKA_TOPIC_PREFIX}${name}`;
  const shared = { kafka, producer, db, topicPrefix: config.KAFKA_TOPIC_PREFIX, logger: log };
  const nudge = () => {
    sender.nudge();
    relay.nudge();
  };
  const consumers = [
    new ConsumerRunner({
      ...shared,
      groupId: group(ISSUANCE_GROUP_ID),
      subscriptions: [
        issuanceRequests({ chainId: chain.chainId, defaultTier: config.DEFAULT_GAS_TIER, nudge }),
      ],
    }),
    new ConsumerRunner({
      ...shared,
      groupId: group(RESERVATION_GROUP_ID),
      subscriptions: [reservations({ nudge })],
    }),
    new ConsumerRunner({
      ...shared,
      groupId: group(REGISTRY_GROUP_ID),
      subscriptions: [registryOrganizations, registryMemberships],
    }),
  ];
  const admin = kafka.admin();
  await admin.connect();
  return {
    kafka,
    producer,
    relay,
    chain,
    sender,
    consumers,
    kafkaReady: () => admin.describeCluster(),
    async start() {
      relay.start();
      await sender.start();
      await Promise.all(consumers.map((c) => c.start()));
    },
    async stop() {
      await Promise.all(consumers.map((c) => c.stop()));
      await sender.stop();
      await relay.stop();
      await producer.disconnect();
      await admin.disconnect();
      chain.provider.destroy();
    },
  };
}
export type Parts = Awaited<ReturnType<typeof createParts>>;
