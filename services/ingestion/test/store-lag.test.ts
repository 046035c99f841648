import { topics } from "@energy/contracts";
import { createTestKafka, type TestKafka } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Backpressure } from "../src/ingest/backpressure.ts";
import { StoreLagMonitor } from "../src/store/store-lag.ts";

// The store lag monitor against the real broker: messages on the real telemetry topic, and a store whose
// progress is its group's committed offsets (set here as the store's commits would, at a known rate). The
// monitor's clock is passed to poll(), so "200 ms later" is exact and the test waits for nothing.

const MESSAGES = 3_000;
type Admin = ReturnType<TestKafka["kafka"]["admin"]>;
let testKafka: TestKafka;
let admin: Admin;
let topic: string;
let groupId: string;
/** stands in for the store's commits: a member of the store's group that commits the offsets it is given */
let store: ReturnType<TestKafka["kafka"]["consumer"]>;

beforeAll(async () => {
  testKafka = await createTestKafka({ topics: [topics.ingestionTelemetry.name] });
  topic = `${testKafka.topicPrefix}${topics.ingestionTelemetry.name}`;
  groupId = testKafka.groupId("ingestion.telemetry-store");
  admin = testKafka.kafka.admin();
  await admin.connect();
  const producer = testKafka.kafka.producer();
  await producer.connect();
  const messages = Array.from({ length: MESSAGES }, (_, i) => ({
    key: `der-${i % 60}`,
    value: `{"n":${i}}`,
  }));
  await producer.send({ topic, messages });
  await producer.disconnect();
  store = testKafka.kafka.consumer({ groupId });
  await store.connect();
  await store.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => store.on(store.events.GROUP_JOIN, () => resolve()));
  // it applies nothing by itself (nothing resolved, nothing committed): only storeApplies moves it
  await store.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
  await joined;
});
afterAll(async () => {
  await store?.disconnect();
  await admin?.disconnect();
});

/** Moves the store group's committed offset (nothing committed counts as 0) of every partition `step` messages on (at most to its end). */
async function storeApplies(step: number | "all") {
  const ends = await admin.fetchTopicOffsets(topic);
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  const at = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  await store.commitOffsets(
    ends.map(({ partition, high }) => {
      const from = Math.max(0, at.get(partition) ?? 0);
      const to = step === "all" ? Number(high) : Math.min(Number(high), from + step);
      return { topic, partition, offset: String(to) };
    }),
  );
}

describe("the store lag monitor", () => {
  it("sees acknowledgements outrun a slow store before the lag does, and slows gateways by it", async () => {
    const monitor = new StoreLagMonitor({ admin, groupId, topic });
    const t0 = Date.now();
    expect(await monitor.poll(t0)).toBe(0); // every message was first seen now: none is old yet
    // the store applies 5 messages per partition (30 in all) every 200 ms: 0.15 messages/ms
    for (let tick = 1; tick <= 6; tick++) {
      await storeApplies(5);
      await monitor.poll(t0 + tick * 200);
    }
    // the oldest unapplied message was produced 1.2 s ago, but 2,820 wait at 0.15 messages/ms: 18.8 s
    expect(monitor.lagMs()).toBe(1_200);
    expect(monitor.pressureMs()).toBeGreaterThan(15_000);
    expect(monitor.pressureMs()).toBeLessThan(25_000);
    // with a 5 s bound gateways are slowed now, though the lag alone (1.2 s) is below half of it
    const backpressure = new Backpressure(monitor, 5_000);
    expect(backpressure.retryAfterSeconds()).toBeGreaterThanOrEqual(1);

    // caught up: no lag, no pressure, full speed
    await storeApplies("all");
    expect(await monitor.poll(t0 + 1_400)).toBe(0);
    expect(monitor.pressureMs()).toBe(0);
    expect(backpressure.retryAfterSeconds()).toBeNull();
  });

  it("lets waiting gateways go in turn, only as many as the store can take, and counts a batch let through at once", async () => {
    // waiters wait only on a running monitor: started, it polls once at once (then not for a long while),
    // before the messages below exist, so the test's own polls alone see them
    const monitor = new StoreLagMonitor({ admin, groupId, topic, pollIntervalMs: 3_600_000 });
    monitor.start();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const producer = testKafka.kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: 600 }, (_, i) => ({ key: `der-${i % 60}`, value: `{"n":${i}}` })),
    });
    await producer.disconnect();
    const backpressure = new Backpressure(monitor, 4_200); // slowed from 2.1 s
    const t0 = Date.now();
    await monitor.poll(t0);
    // 0.15 messages/ms again; 420 of the 600 wait: 2.8 s
    for (let tick = 1; tick <= 6; tick++) {
      await storeApplies(5);
      await monitor.poll(t0 + tick * 200);
    }
    expect(monitor.pressureMs()).toBeGreaterThan(2_700);
    expect(backpressure.retryAfterSeconds()).not.toBeNull();
    // five slowed gateways wait with a frame of 60 messages each (400 ms of the store's time each)
    const gone: number[] = [];
    const waiting = [1, 2, 3, 4, 5].map((n) => backpressure.ready(60).then(() => gone.push(n)));
    for (let tick = 7; tick <= 9; tick++) {
      await storeApplies(5);
      await monitor.poll(t0 + tick * 200);
    }
    await Promise.resolve();
    expect(gone).toEqual([]); // 330 wait: 2.2 s
    await storeApplies(5);
    await monitor.poll(t0 + 2_000); // 300 wait: 2.0 s, below 2.1 s
    await new Promise((resolve) => setImmediate(resolve));
    // one frame goes (2.4 s with it); letting all five go on this poll would make 3.6 s
    expect(gone).toEqual([1]);
    expect(monitor.pressureMs()).toBeGreaterThan(2_300);

    await storeApplies("all");
    await monitor.poll(t0 + 2_200);
    await Promise.all(waiting);
    expect(gone).toEqual([1, 2, 3, 4, 5]); // in the order they came
    // caught up, the four let go count: 1.6 s; one more batch of 120 messages let through makes 2.4 s
    expect(backpressure.retryAfterSeconds()).toBeNull();
    backpressure.admit(120);
    expect(monitor.pressureMs()).toBeGreaterThan(2_300);
    expect(backpressure.retryAfterSeconds()).not.toBeNull();
    await monitor.stop();
  });

  it("without a measured rate (a store that applies nothing) the pressure is the lag", async () => {
    const monitor = new StoreLagMonitor({ admin, groupId: testKafka.groupId("never-applies"), topic });
    const t0 = Date.now();
    await monitor.poll(t0);
    await monitor.poll(t0 + 3_000);
    expect(monitor.lagMs()).toBe(3_000);
    expect(monitor.pressureMs()).toBe(3_000);
  });
});
