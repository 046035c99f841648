/**
 * Topic definitions from infra/kafka/topics.yaml, and their idempotent creation.
 *
 *   node infra/kafka/topics.ts [--brokers 127.0.0.1:9092] [--prefix t123.]
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { parse } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));

export interface TopicDefinition {
  name: string;
  partitions: number;
  /** milliseconds; -1 keeps messages forever */
  retentionMs: number;
  cleanup: "delete" | "compact";
  /** the dead-letter topic that receives this topic's poison messages */
  dlq: { name: string; retentionMs: number };
}

interface TopicsFile {
  defaults: { partitions: number; retention: string; cleanup: "delete" | "compact"; dlqRetention: string };
  topics: Array<{ name: string; partitions?: number; retention?: string; cleanup?: "delete" | "compact" }>;
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000 };

export function parseRetention(value: string): number {
  if (value === "forever") return -1;
  const match = /^(\d+)([hd])$/.exec(value);
  if (!match) throw new Error(`topics.yaml: retention "${value}" is not like 12h, 7d or "forever"`);
  return Number(match[1]) * UNIT_MS[match[2] as string]!;
}

/** The declared topics (without any test prefix). */
export function loadTopicDefinitions(file = join(here, "topics.yaml")): TopicDefinition[] {
  const doc = parse(readFileSync(file, "utf8")) as TopicsFile;
  const seen = new Set<string>();
  return doc.topics.map((t) => {
    if (seen.has(t.name)) throw new Error(`topics.yaml: ${t.name} is declared twice`);
    seen.add(t.name);
    return {
      name: t.name,
      partitions: t.partitions ?? doc.defaults.partitions,
      retentionMs: parseRetention(t.retention ?? doc.defaults.retention),
      cleanup: t.cleanup ?? doc.defaults.cleanup,
      dlq: { name: `${t.name}.dlq`, retentionMs: parseRetention(doc.defaults.dlqRetention) },
    };
  });
}

/** Creates every declared topic and its DLQ that does not exist yet; returns the names it created. */
export async function ensureTopics(opts: {
  brokers: string;
  prefix?: string;
  /** only these declared topics (and their DLQs); default all */
  only?: readonly string[];
}): Promise<string[]> {
  const prefix = opts.prefix ?? "";
  const admin = new Kafka({
    clientId: "infra-topics",
    brokers: opts.brokers.split(","),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const declared = loadTopicDefinitions();
    for (const name of opts.only ?? []) {
      if (!declared.some((t) => t.name === name)) throw new Error(`${name} is not declared in topics.yaml`);
    }
    const chosen = opts.only ? declared.filter((t) => opts.only!.includes(t.name)) : declared;
    const wanted = chosen.flatMap((t) => [
      {
        topic: prefix + t.name,
        numPartitions: t.partitions,
        configEntries: [
          { name: "cleanup.policy", value: t.cleanup },
          { name: "retention.ms", value: String(t.retentionMs) },
        ],
      },
      {
        topic: prefix + t.dlq.name,
        numPartitions: 1,
        configEntries: [{ name: "retention.ms", value: String(t.dlq.retentionMs) }],
      },
    ]);
    const missing = wanted.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing, waitForLeaders: true, timeout: 60_000 });
    }
    return missing.map((t) => t.topic);
  } finally {
    await admin.disconnect();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const brokers = arg("--brokers") ?? process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
  const created = await ensureTopics({ brokers, prefix: arg("--prefix") ?? "" });
  console.log(
    created.length
      ? `created ${created.length} topics on ${brokers}`
      : `all topics already exist on ${brokers}`,
  );
}
