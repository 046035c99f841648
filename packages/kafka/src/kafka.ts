import { type Consumer, type EachBatchPayload, Kafka, logLevel } from "kafkajs";

/** A kafkajs client for 127.0.0.1-style broker lists (use 127.0.0.1, not localhost: Node may try IPv6 first). */
export function createKafka(opts: { brokers: string; clientId: string; quiet?: boolean }): Kafka {
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers.split(",").map((b) => b.trim()),
    logLevel: opts.quiet === false ? logLevel.WARN : logLevel.ERROR,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5_000 },
  });
}

/**
 * The consumer of a runner's group: no topic auto-creation, idle partitions polled often, and a 10 s
 * session: a consumer that died (SIGKILL, lost host) has its partitions handed on after 10 s rather than
 * kafkajs's 30 s; runners heartbeat between messages and chunks, well within it.
 */
export function groupConsumer(
  kafka: Kafka,
  opts: { groupId: string; maxWaitTimeMs?: number; minBytes?: number },
): Consumer {
  return kafka.consumer({
    groupId: opts.groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: 10_000,
    // An idle partition is polled again after at most this long (kafkajs waits 5 s by default).
    maxWaitTimeInMs: opts.maxWaitTimeMs ?? 500,
    // The broker answers a fetch once this much is there (or maxWaitTimeInMs has passed); kafkajs's 1 byte
    // answers as soon as anything is.
    minBytes: opts.minBytes ?? 1,
    heartbeatInterval: 3_000,
  });
}

/**
 * Connects, subscribes and runs `eachBatch` with offsets resolved by the caller only (autoCommit commits
 * resolved offsets alone); resolves once the consumer has joined its group.
 */
export async function runInGroup(
  consumer: Consumer,
  opts: {
    topics: string[];
    fromBeginning: boolean;
    partitionsConsumedConcurrently: number;
    eachBatch: (payload: EachBatchPayload) => Promise<void>;
  },
): Promise<void> {
  await consumer.connect();
  await consumer.subscribe({ topics: opts.topics, fromBeginning: opts.fromBeginning });
  const joined = new Promise<void>((resolve) => {
    const off = consumer.on(consumer.events.GROUP_JOIN, () => {
      off();
      resolve();
    });
  });
  await consumer.run({
    autoCommit: true,
    autoCommitInterval: 1_000,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently,
    eachBatch: opts.eachBatch,
  });
  await joined;
}
