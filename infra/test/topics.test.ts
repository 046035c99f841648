import { randomBytes } from "node:crypto";
import { catalog, topicNames } from "@energy/contracts";
import { ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { ensureTopics, loadTopicDefinitions, parseRetention } from "../kafka/topics.ts";

// infra sits below packages/testing, so it reads the run's broker itself (set by the global setup).
function kafkaBrokers(): string {
  const brokers = process.env.TEST_KAFKA_BROKERS;
  if (!brokers)
    throw new Error("TEST_KAFKA_BROKERS is not set: run the tests with `bash tools/platform.sh test`");
  return brokers;
}

describe("topic definitions (infra/kafka/topics.yaml)", () => {
  it("declare exactly the topics of the contracts catalog", () => {
    const declared = loadTopicDefinitions()
      .map((t) => t.name)
      .sort();
    expect(declared).toEqual([...topicNames].sort());
    expect(declared).toHaveLength(catalog.length);
  });

  it("give every topic a dead-letter topic and a sane retention", () => {
    for (const t of loadTopicDefinitions()) {
      expect(t.dlq.name).toBe(`${t.name}.dlq`);
      expect(t.partitions).toBeGreaterThan(0);
      expect(t.retentionMs === -1 || t.retentionMs >= 3_600_000).toBe(true);
    }
  });

  it("refuse a retention that is not a duration", () => {
    expect(parseRetention("7d")).toBe(604_800_000);
    expect(parseRetention("forever")).toBe(-1);
    expect(() => parseRetention("a week")).toThrow(/retention "a week"/);
  });
});

describe("topic creation on the real broker", () => {
  it("creates the declared topics with their partitions and retention, once", async () => {
    const brokers = kafkaBrokers();
    const prefix = `t${randomBytes(4).toString("hex")}.`;
    const only = ["registry.device.v1", "ingestion.telemetry.v1"];
    const created = await ensureTopics({ brokers, prefix, only });
    expect(created.sort()).toEqual([...only, ...only.map((t) => `${t}.dlq`)].map((t) => prefix + t).sort());
    expect(await ensureTopics({ brokers, prefix, only })).toEqual([]); // idempotent

    const admin = new Kafka({
      clientId: "infra-test",
      brokers: brokers.split(","),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [`${prefix}ingestion.telemetry.v1`] });
      expect(meta.topics[0]!.partitions).toHaveLength(6);
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: `${prefix}registry.device.v1`,
            configNames: ["retention.ms"],
          },
        ],
      });
      expect(configs.resources[0]!.configEntries[0]!.configValue).toBe("-1"); // registry topics are kept forever
    } finally {
      await admin.disconnect();
    }
  });

  it("refuses to create a topic that is not declared", async () => {
    await expect(
      ensureTopics({ brokers: kafkaBrokers(), prefix: "tx.", only: ["nope.thing.v1"] }),
    ).rejects.toThrow(/nope.thing.v1 is not declared/);
  });
});
