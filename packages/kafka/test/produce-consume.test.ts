import { topics } from "@energy/contracts";
import { after, endOffsets, messagesOn, readTopic, waitFor } from "@energy/testing";
import type { Admin, Producer } from "kafkajs";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConsumerRunner,
  createEnvelope,
  EventProducer,
  envelopeToHeaders,
  InvalidMessageError,
} from "../src/index.ts";
import { organization, setupRealComponents } from "./helpers.ts";

const TOPIC = topics.registryOrganization;

describe("producing and consuming through the contracts (real broker)", () => {
  let ctx: Awaited<ReturnType<typeof setupRealComponents>>;
  let producer: EventProducer;
  let raw: Producer;
  let admin: Admin;

  beforeAll(async () => {
    ctx = await setupRealComponents();
    producer = new EventProducer(ctx.kafka.kafka, { source: "registry", topicPrefix: ctx.kafka.topicPrefix });
    await producer.connect();
    raw = ctx.kafka.kafka.producer();
    await raw.connect();
    admin = ctx.kafka.kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await raw?.disconnect();
    await admin?.disconnect();
    await ctx?.db.drop();
  });

  it("delivers a validated event with its envelope to the handler of its type", async () => {
    const received: Array<{
      payload: unknown;
      type: string;
      id: string;
      source: string;
      key: string | null;
    }> = [];
    const runner = new ConsumerRunner({
      kafka: ctx.kafka.kafka,
      groupId: "deliver",
      topicPrefix: ctx.kafka.topicPrefix,
      producer,
      subscriptions: [
        {
          topic: TOPIC,
          handlers: {
            "organization.created": async (payload, { envelope, key }) => {
              received.push({ payload, type: envelope.type, id: envelope.id, source: envelope.source, key });
            },
          },
        },
      ],
    });
    await runner.start();
    try {
      const envelope = await producer.publish(TOPIC, "organization.created", organization(1), {
        key: "org-1",
        correlationId: "req-42",
      });
      await waitFor("the event at the consumer", () => received.length === 1);
      expect(received[0]).toEqual({
        payload: organization(1),
        type: "organization.created",
        id: envelope.id,
        source: "registry",
        key: "org-1",
      });
      expect(runner.stats().processed).toBe(1);
    } finally {
      await runner.stop();
    }
  });

  it("refuses an invalid event at produce time, naming the field, and sends nothing", async () => {
    const fullTopic = `${ctx.kafka.topicPrefix}${TOPIC.name}`;
    const ends = await endOffsets(admin, fullTopic);
    const before = await messagesOn(admin, fullTopic);
    const bad = { ...organization(2), kind: "wholesaler" };
    await expect(
      // @ts-expect-error the compiler refuses the bad kind too; this is what a caller around it gets
      producer.publish(TOPIC, "organization.created", bad, { key: "org-2" }),
    ).rejects.toThrow(InvalidMessageError);
    await expect(
      // @ts-expect-error as above
      producer.publish(TOPIC, "organization.created", bad, { key: "org-2" }),
    ).rejects.toThrow(/payload\.kind/);
    await expect(
      // @ts-expect-error the compiler refuses an event type the topic does not declare
      producer.publish(TOPIC, "organization.exploded", organization(2), { key: "org-2" }),
    ).rejects.toThrow(/no event type "organization.exploded"/);
    // …and nothing reached the topic: it holds what it held before,
    expect(await messagesOn(admin, fullTopic)).toBe(before);
    // and once a valid event sent after them (same key, same partition) is there, it is the only new one
    await producer.publish(TOPIC, "organization.created", organization(2), { key: "org-2" });
    const onTopic = after(ends, await readTopic(ctx.kafka.kafka, fullTopic, { count: before + 1 }));
    expect(onTopic.map((m) => [m.key, JSON.parse(m.value!).kind])).toEqual([["org-2", "developer"]]);
  });

  it("sends a poison message to <topic>.dlq with its origin and the error, and goes on with the next", async () => {
    const applied: string[] = [];
    const runner = new ConsumerRunner({
      kafka: ctx.kafka.kafka,
      groupId: "dlq",
      topicPrefix: ctx.kafka.topicPrefix,
      producer,
      subscriptions: [
        {
          topic: TOPIC,
          handlers: { "organization.created": async (p) => void applied.push(p.orgId) },
        },
      ],
    });
    const fullTopic = `${ctx.kafka.topicPrefix}${TOPIC.name}`;
    // Written around the contracts, as a broken producer elsewhere might: a bad kind, then a good event.
    await raw.send({
      topic: fullTopic,
      messages: [
        {
          key: "org-3",
          value: JSON.stringify({ ...organization(3), kind: "wholesaler" }),
          headers: envelopeToHeaders(createEnvelope({ type: "organization.created", source: "registry" })),
        },
        {
          key: "org-4",
          value: "not json at all",
          headers: envelopeToHeaders(createEnvelope({ type: "organization.created", source: "registry" })),
        },
        { key: "org-5", value: JSON.stringify(organization(5)) }, // no envelope headers
        {
          key: "org-6",
          value: JSON.stringify(organization(6)),
          headers: envelopeToHeaders(createEnvelope({ type: "organization.created", source: "registry" })),
        },
      ],
    });
    await runner.start();
    try {
      await waitFor("the good event after the poison ones", () => applied.includes("org-6"));
      const dead = await readTopic(ctx.kafka.kafka, `${fullTopic}.dlq`, { count: 3 });
      expect(dead.map((m) => m.key).sort()).toEqual(["org-3", "org-4", "org-5"]);
      const byKey = Object.fromEntries(dead.map((m) => [m.key, m]));
      expect(byKey["org-3"]!.headers["dlq-origin-topic"]).toBe(fullTopic);
      expect(byKey["org-3"]!.headers["dlq-origin-partition"]).toMatch(/^\d+$/);
      expect(byKey["org-3"]!.headers["dlq-origin-offset"]).toMatch(/^\d+$/);
      expect(byKey["org-3"]!.headers["dlq-error"]).toMatch(/payload\.kind/);
      expect(byKey["org-4"]!.headers["dlq-error"]).toMatch(/SyntaxError|JSON/);
      expect(byKey["org-5"]!.headers["dlq-error"]).toMatch(/envelope/);
      expect(byKey["org-3"]!.value).toContain("wholesaler"); // the original value is kept
      expect(applied).toContain("org-6"); // org-1 from the first test is on the topic too
      for (const poisoned of ["org-3", "org-4", "org-5"]) expect(applied).not.toContain(poisoned);
      expect(runner.stats().deadLettered).toBe(3);
      // …and operators see it in the service's metrics
      const registry = new Registry();
      runner.registerMetrics(registry);
      const metrics = await registry.metrics();
      expect(metrics).toMatch(/kafka_consumer_messages_dead_lettered_total\{group="[^"]+"\} 3/);
      expect(metrics).toMatch(
        /kafka_consumer_lag\{group="[^"]+",topic="registry.organization.v1",partition="\d+"\} 0/,
      );
    } finally {
      await runner.stop();
    }
  });
});
