import type { Admin } from "kafkajs";

/** One partition's distance between a group's committed offset and the end of the log. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** messages the group has not committed yet */
  lag: number;
}

/**
 * A consumer group's lag as the broker sees it: committed offsets against each partition's end. Unlike a
 * runner's own lag gauge (measured when it fetches), this grows while the consumer is stuck or gone.
 * A partition the group never committed counts from its earliest retained offset.
 */
export async function consumerGroupLag(
  admin: Admin,
  groupId: string,
  topics: string[],
): Promise<PartitionLag[]> {
  const [committed, ends] = await Promise.all([
    admin.fetchOffsets({ groupId, topics }),
    Promise.all(topics.map(async (topic) => ({ topic, offsets: await admin.fetchTopicOffsets(topic) }))),
  ]);
  const committedAt = new Map<string, number>();
  for (const t of committed)
    for (const p of t.partitions) committedAt.set(`${t.topic}:${p.partition}`, Number(p.offset));
  return ends.flatMap(({ topic, offsets }) =>
    offsets.map((o) => {
      const done = committedAt.get(`${topic}:${o.partition}`) ?? -1;
      const from = done >= 0 ? done : Number(o.low);
      return { topic, partition: o.partition, lag: Math.max(0, Number(o.high) - from) };
    }),
  );
}

/**
 * A readiness check (service-kit's `readiness`) that fails while a consumer group is more than `maxLag`
 * messages behind on any partition of its topics: what the service shows is that far out of date.
 * `topics` are full names (with the environment's prefix).
 */
export function consumerLagReadiness(opts: {
  admin: Admin;
  groupId: string;
  topics: string[];
  maxLag: number;
}): () => Promise<void> {
  return async () => {
    const lags = await consumerGroupLag(opts.admin, opts.groupId, opts.topics);
    const behind = lags.filter((l) => l.lag > opts.maxLag);
    if (behind.length > 0) {
      const worst = behind.map((l) => `${l.topic}[${l.partition}] ${l.lag}`).join(", ");
      throw new Error(`consumer group ${opts.groupId} is more than ${opts.maxLag} messages behind: ${worst}`);
    }
  };
}
