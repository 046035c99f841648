import { randomBytes } from "node:crypto";
import { ensureTopics } from "@energy/infra/topics";
import { type Admin, type IHeaders, Kafka, logLevel } from "kafkajs";
import { kafkaBrokers } from "./env.ts";

export interface TestKafka {
  brokers: string;
  /** prepended to every topic name, unique per test file */
  topicPrefix: string;
  /** the full consumer group name of a runner given this prefix and group `name` (runners put the prefix in front) */
  groupId(name: string): string;
  kafka: Kafka;
}

/**
 * The real broker of this run, with the given declared topics (and their DLQs) created under a fresh
 * prefix. Name only what the test file uses: every partition costs the shared broker.
 */
export async function createTestKafka(opts: { topics: readonly string[] }): Promise<TestKafka> {
  const brokers = kafkaBrokers();
  const topicPrefix = `t${randomBytes(4).toString("hex")}.`;
  // Under load the shared broker may answer the wait for the new topics' leaders with "does not host
  // this topic-partition" before their metadata has spread; creating is idempotent, so ask again.
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopics({ brokers, prefix: topicPrefix, only: opts.topics });
      break;
    } catch (error) {
      const message = (error as Error).message;
      if (attempt < 3 && /does not host this topic-partition|leader/i.test(message)) continue;
      throw new Error(`could not create test topics on TEST_KAFKA_BROKERS=${brokers}: ${message}`);
    }
  }
  const kafka = new Kafka({
    clientId: `test-${topicPrefix}`,
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
  });
  return { brokers, topicPrefix, kafka, groupId: (name) => `${topicPrefix}${name}` };
}

export interface ReadMessage {
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  partition: number;
  offset: string;
}

/**
 * Reads a topic from the beginning until `count` messages arrived (or `timeoutMs` passed) and
 * returns what it read; waits `settleMs` more to catch messages beyond the count (duplicates).
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  opts: { count: number; timeoutMs?: number; settleMs?: number },
): Promise<ReadMessage[]> {
  const consumer = kafka.consumer({
    groupId: `reader-${randomBytes(6).toString("hex")}`,
    maxWaitTimeInMs: 200,
  });
  const messages: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let reached: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      reached = resolve;
    });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        messages.push({
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          headers: headersToStrings(message.headers),
          partition,
          offset: message.offset,
        });
        if (messages.length >= opts.count) reached();
      },
    });
    await Promise.race([done, new Promise((r) => setTimeout(r, opts.timeoutMs ?? 20_000))]);
    if (opts.settleMs) await new Promise((r) => setTimeout(r, opts.settleMs));
    return messages;
  } finally {
    await consumer.disconnect();
  }
}

/**
 * How many messages `topic` holds right now: the sum of its partitions' end offsets, read with one
 * request of an admin client already connected (call it the moment an answer arrives to learn whether a
 * message was on the topic by then).
 */
export async function messagesOn(admin: Admin, topic: string): Promise<number> {
  let sum = 0;
  for (const end of (await endOffsets(admin, topic)).values()) sum += end;
  return sum;
}

/** Each partition's end offset (the offset its next message will get), by partition. */
export async function endOffsets(admin: Admin, topic: string): Promise<Map<number, number>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((p) => [p.partition, Number(p.high)]));
}

/**
 * Whether consumer group `groupId` has committed the end offset of every partition of `topic`: it has
 * handled everything on the topic, so nothing more will be delivered to it (what "caught up" means
 * before a test checks that nothing was handled twice).
 */
export async function groupCaughtUp(admin: Admin, groupId: string, topic: string): Promise<boolean> {
  const [ends, committed] = await Promise.all([
    endOffsets(admin, topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const partitions = committed.find((t) => t.topic === topic)?.partitions ?? [];
  // a partition the group never committed on answers -1: caught up only if the partition is empty
  return [...ends].every(([partition, end]) => {
    const offset = Number(partitions.find((p) => p.partition === partition)?.offset ?? -1);
    return Math.max(offset, 0) === end;
  });
}

/** The messages of `read` that came after `ends` (what `endOffsets` said before): on each partition, from its end then. */
export function after(ends: Map<number, number>, read: ReadMessage[]): ReadMessage[] {
  return read.filter((m) => Number(m.offset) >= (ends.get(m.partition) ?? 0));
}

export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v !== undefined) out[k] = (Array.isArray(v) ? v[0] : v)?.toString() ?? "";
  }
  return out;
}
