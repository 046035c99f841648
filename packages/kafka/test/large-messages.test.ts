/**
 * kafkajs is patched (infra/patches/kafkajs@2.2.4.patch): its encoder keeps large buffers by reference
 * instead of copying them at every level of a produce request, writes a request's buffers in one writev,
 * and checksums record batches eight bytes a step. These tests send what the services send (meter-read's
 * ~350 KB messages two to a request, small events beside them, binary values, compressed batches) through
 * the real broker, which checks every batch's CRC-32C and refuses a wrong one, and read every byte back.
 */
import { createHash, randomBytes } from "node:crypto";
import { createTestKafka, type TestKafka, waitFor } from "@energy/testing";
import { CompressionTypes, type Consumer, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const TOPICS = ["registry.organization.v1", "meter-read.read.v1"];
const sha = (value: Buffer | string) => createHash("sha256").update(value).digest("hex");

interface Sent {
  key: string;
  value: Buffer | string;
  headers: Record<string, string>;
}

describe("the patched kafkajs producer (real broker)", () => {
  let kafka: TestKafka;
  let producer: Producer;
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    kafka = await createTestKafka({ topics: TOPICS });
    producer = kafka.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    for (const consumer of consumers) await consumer.disconnect();
  });

  /** Every message of a topic, as bytes, with its key and headers. */
  async function readAll(topic: string, count: number) {
    const consumer = kafka.kafka.consumer({
      groupId: kafka.groupId(`large-${randomBytes(4).toString("hex")}`),
    });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: Array<{ key: string; value: Buffer; headers: Record<string, string> }> = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        got.push({ key: message.key!.toString(), value: message.value!, headers });
      },
    });
    await waitFor(`${count} messages on ${topic}`, () => got.length >= count || undefined, {
      timeoutMs: 30_000,
    });
    return got;
  }

  const expectSame = (got: Awaited<ReturnType<typeof readAll>>, sent: Sent[]) => {
    expect(got).toHaveLength(sent.length);
    const byKey = new Map(got.map((m) => [m.key, m]));
    for (const s of sent) {
      const m = byKey.get(s.key);
      expect(m, s.key).toBeDefined();
      expect(m!.value.length, s.key).toBe(Buffer.byteLength(s.value));
      expect(sha(m!.value), s.key).toBe(sha(s.value));
      expect(m!.headers, s.key).toEqual(s.headers);
    }
  };

  it("delivers large and small messages of one request byte for byte, across topics and partitions", async () => {
    const json = (n: number) =>
      `{"deviceId":"dev-${n}","reads":[${Array.from({ length: 1000 }, (_, i) => `{"readId":"mrd-${n}-${i}","energyWh":${i},"note":"é✓"}`).join(",")}]}`;
    const reads: Sent[] = [
      { key: "dev-a", value: json(1), headers: { envelope: '{"id":"a"}' } },
      { key: "dev-b", value: json(2), headers: { envelope: '{"id":"b"}', extra: "x".repeat(20_000) } },
      { key: "dev-c", value: randomBytes(200_000), headers: {} },
      { key: "dev-d", value: "small", headers: { envelope: '{"id":"d"}' } },
      { key: "dev-e", value: randomBytes(16 * 1024), headers: {} },
      { key: "dev-f", value: randomBytes(16 * 1024 - 1), headers: {} },
    ];
    const orgs: Sent[] = Array.from({ length: 50 }, (_, i) => ({
      key: `org-${i}`,
      value: JSON.stringify({ orgId: `org-${i}`, name: `Org ${i}` }),
      headers: { envelope: `{"id":"o${i}"}` },
    }));
    await producer.sendBatch({
      acks: -1,
      topicMessages: [
        { topic: `${kafka.topicPrefix}meter-read.read.v1`, messages: reads },
        { topic: `${kafka.topicPrefix}registry.organization.v1`, messages: orgs },
      ],
    });
    // and again, one at a time, so each large value is a request of its own
    const more = reads.map((r) => ({ ...r, key: `${r.key}-again` }));
    for (const m of more)
      await producer.send({ acks: -1, topic: `${kafka.topicPrefix}meter-read.read.v1`, messages: [m] });

    expectSame(await readAll(`${kafka.topicPrefix}meter-read.read.v1`, reads.length * 2), [
      ...reads,
      ...more,
    ]);
    expectSame(await readAll(`${kafka.topicPrefix}registry.organization.v1`, orgs.length), orgs);
  });

  it("delivers a compressed batch holding large values byte for byte", async () => {
    const topic = `${kafka.topicPrefix}registry.organization.v1`;
    const admin = kafka.kafka.admin();
    await admin.connect();
    const before = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    await admin.disconnect();
    const sent: Sent[] = Array.from({ length: 4 }, (_, i) => ({
      key: `gz-${i}`,
      value: `${"energy ".repeat(10_000)}${i}`,
      headers: { n: String(i) },
    }));
    await producer.send({ acks: -1, topic, compression: CompressionTypes.GZIP, messages: sent });
    const got = (await readAll(topic, before + sent.length)).filter((m) => m.key.startsWith("gz-"));
    expectSame(got, sent);
  });
});
