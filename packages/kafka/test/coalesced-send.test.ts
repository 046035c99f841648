import { topics } from "@energy/contracts";
import { createTestKafka, readTopic, type TestKafka } from "@energy/testing";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventProducer, MessageTooLargeError, type PreparedMessage, prepareEvent } from "../src/index.ts";
import { organization } from "./helpers.ts";

// sendCoalesced merges the sends made while a produce request is on its way into the next request. What a
// sender sees: every call resolves once its own messages are on the broker, each key's messages in the order
// of the calls, a message too large fails only its own call, and concurrent senders take fewer round trips.

const TOPIC = topics.registryOrganization;
let testKafka: TestKafka;
let producer: EventProducer;
/** produce requests the EventProducer's kafkajs producers made (kafkajs's request events) */
let produceRequests = 0;

beforeAll(async () => {
  testKafka = await createTestKafka({ topics: [TOPIC.name] });
  // the real client, its producers watched: every request they make is counted by its API
  const watched = Object.create(testKafka.kafka) as Kafka;
  watched.producer = (config) => {
    const p = testKafka.kafka.producer(config);
    p.on(p.events.REQUEST, (e) => {
      if (e.payload.apiName === "Produce") produceRequests++;
    });
    return p;
  };
  producer = new EventProducer(watched, { source: "registry", topicPrefix: testKafka.topicPrefix });
  await producer.connect();
});
afterAll(async () => {
  await producer?.disconnect();
});

/** One organization.created of org `n`, keyed by one of three keys, with `n` in its name. */
function created(n: number, key = `key-${n % 3}`): PreparedMessage {
  return prepareEvent("registry", {
    topic: TOPIC,
    type: "organization.created",
    payload: organization(n),
    options: { key },
  });
}

describe("coalesced sends (real broker)", () => {
  it("sends forty concurrent calls in fewer requests, each key's messages in the order of the calls", async () => {
    const before = produceRequests;
    const calls = Array.from({ length: 40 }, (_, i) => [created(2 * i), created(2 * i + 1)]);
    await Promise.all(calls.map((messages) => producer.sendCoalesced(messages)));
    const requests = produceRequests - before;
    expect(requests).toBeGreaterThanOrEqual(1);
    expect(requests).toBeLessThan(40);

    const read = await readTopic(testKafka.kafka, `${testKafka.topicPrefix}${TOPIC.name}`, { count: 80 });
    expect(read).toHaveLength(80);
    for (const key of ["key-0", "key-1", "key-2"]) {
      const names = read
        .filter((m) => m.key === key)
        .map((m) => Number(JSON.parse(m.value!).orgId.slice("org-".length)));
      expect(names.length).toBeGreaterThan(0);
      expect(names).toEqual([...names].sort((a, b) => a - b));
    }
  });

  it("fails only the call whose message is over the size limit; the calls beside it are sent", async () => {
    const huge = prepareEvent("registry", {
      topic: TOPIC,
      type: "organization.created",
      payload: { ...organization(1000), name: "x".repeat(2_000_000) },
    });
    const results = await Promise.allSettled([
      producer.sendCoalesced([created(1001, "after-huge")]),
      producer.sendCoalesced([huge]),
      producer.sendCoalesced([created(1002, "after-huge")]),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(MessageTooLargeError);
    const read = await readTopic(testKafka.kafka, `${testKafka.topicPrefix}${TOPIC.name}`, { count: 82 });
    expect(read.filter((m) => m.key === "after-huge").map((m) => JSON.parse(m.value!).orgId)).toEqual([
      "org-1001",
      "org-1002",
    ]);
  });
});
