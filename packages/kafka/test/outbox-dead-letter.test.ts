import { randomUUID } from "node:crypto";
import { topics } from "@energy/contracts";
import { ensureTopics } from "@energy/infra/topics";
import { type ReadMessage, readTopic, waitFor } from "@energy/testing";
import { Kafka, logLevel } from "kafkajs";
import { Registry } from "prom-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  consumerLagReadiness,
  DEFAULT_MAX_MESSAGE_BYTES,
  EventProducer,
  enqueueEvent,
  MessageTooLargeError,
  OutboxRelay,
  outboxBacklog,
  outboxReadiness,
  setMaxMessageBytes,
} from "../src/index.ts";
import type { PrismaClient } from "./generated/prisma/client.ts";
import { organization, prismaFor, setupRealComponents } from "./helpers.ts";

const ORGS = "registry.organization.v1";
const SITES = "registry.site.v1"; // created only by the transient-failure test
const TWO_MIB = 2 * 1024 * 1024;

/** A row as a service wrote it before sizes were checked: straight into the table, past enqueueEvent. */
async function insertRow(prisma: PrismaClient, key: string, payload: object, enqueuedAgoSeconds = 0) {
  const id = randomUUID();
  await prisma.$executeRawUnsafe(
    `INSERT INTO outbox (id, topic, key, type, schema_version, payload, correlation_id, occurred_at, enqueued_at)
     VALUES ($1::uuid, $2, $3, 'organization.created', 1, $4::jsonb, $1, now(), now() - $5 * interval '1 second')`,
    id,
    ORGS,
    key,
    JSON.stringify(payload),
    enqueuedAgoSeconds,
  );
  return id;
}

const envelopeId = (m: ReadMessage) => JSON.parse(m.headers.envelope ?? "{}").id as string;

describe("the outbox is never blocked by one row (real broker and database)", () => {
  let ctx: Awaited<ReturnType<typeof setupRealComponents>>;
  let prisma: PrismaClient;
  let producer: EventProducer;
  let kafka: Kafka;
  let relay: OutboxRelay | null = null;
  let readSoFar = 0; // messages on the org topic, as far as the tests have read

  beforeAll(async () => {
    ctx = await setupRealComponents();
    prisma = prismaFor(ctx.db.url);
    // Few client retries, so a transient failure surfaces to the relay within the test's time.
    kafka = new Kafka({
      clientId: "outbox-dead-letter-test",
      brokers: ctx.kafka.brokers.split(","),
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
    });
    producer = new EventProducer(kafka, { source: "registry", topicPrefix: ctx.kafka.topicPrefix });
    await producer.connect();
  });
  afterEach(async () => {
    await relay?.stop();
    relay = null;
    setMaxMessageBytes(DEFAULT_MAX_MESSAGE_BYTES);
    await prisma.outboxMessage.deleteMany();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await prisma?.$disconnect();
    await ctx?.db.drop();
  });

  /**
   * The copies of these events on the org topic (duplicates included), each partition in offset order.
   * Reads the whole topic: partitions interleave differently on every read, so messages are told apart
   * by envelope id, never by position.
   */
  async function onTopic(ids: string[]): Promise<ReadMessage[]> {
    const all = await readTopic(ctx.kafka.kafka, `${ctx.kafka.topicPrefix}${ORGS}`, {
      count: readSoFar + ids.length,
      settleMs: 300,
    });
    readSoFar = all.length;
    const wanted = new Set(ids);
    return all.filter((m) => wanted.has(envelopeId(m)));
  }

  it("refuses to enqueue an event over the size limit, naming the limit", async () => {
    const big = { ...organization(1), name: "x".repeat(TWO_MIB) };
    const attempt = prisma.$transaction((tx) =>
      enqueueEvent(tx, topics.registryOrganization, "organization.created", big, { key: "org-1" }),
    );
    const error = await attempt.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect(error).toMatchObject({ statusCode: 413, limitBytes: 1_000_000 });
    expect((error as Error).message).toMatch(/at most 1000000 bytes can be published/);
    expect(await prisma.outboxMessage.count()).toBe(0);
  });

  it("publishes several pages in one transaction, in seq order, a dead row in a middle page set aside", async () => {
    // one key: one partition, so the topic's offsets show the order the relay published in
    const ids: string[] = [];
    for (let i = 1; i <= 7; i++) {
      const payload = i === 4 ? { ...organization(4), name: "x".repeat(TWO_MIB) } : organization(i);
      ids.push(await insertRow(prisma, "org-same", payload));
    }
    const big = ids[3]!;
    relay = new OutboxRelay({ db: prisma, producer, batchSize: 2, pagesPerTransaction: 3 });

    // one call: three pages of two (5 published, the big one dead-lettered), the 7th left for the next
    expect(await relay.publishPending()).toBe(6);
    expect((await outboxBacklog(prisma)).pending).toBe(1);
    expect(relay.stats()).toMatchObject({ published: 5, deadLettered: 1 });
    expect(await relay.publishPending()).toBe(1);
    expect(await relay.publishPending()).toBe(0);

    const sent = ids.filter((id) => id !== big);
    expect((await onTopic(sent)).map(envelopeId)).toEqual(sent);
    const dead = await prisma.outboxMessage.findUniqueOrThrow({ where: { id: big } });
    expect(dead.sentAt).toBeNull();
    expect(dead.deadLetterReason).toContain("at most 1000000 bytes");
    expect(await prisma.outboxMessage.count({ where: { sentAt: null, deadLetteredAt: null } })).toBe(0);
  });

  it("dead-letters a 2 MiB event between two small ones; the small ones are published and the relay goes on", async () => {
    const first = await insertRow(prisma, "org-1", organization(1));
    const big = await insertRow(prisma, "org-2", { ...organization(2), name: "x".repeat(TWO_MIB) });
    const last = await insertRow(prisma, "org-3", organization(3));
    const metrics = new Registry();
    relay = new OutboxRelay({ db: prisma, producer, pollIntervalMs: 20 });
    relay.registerMetrics(metrics);
    relay.start();

    await waitFor("the outbox settled", async () => (await outboxBacklog(prisma)).pending === 0);
    const published = await onTopic([first, last]);
    expect(published.map(envelopeId).sort()).toEqual([first, last].sort());
    const dead = await prisma.outboxMessage.findUniqueOrThrow({ where: { id: big } });
    expect(dead.sentAt).toBeNull();
    expect(dead.deadLetteredAt).not.toBeNull();
    expect(dead.deadLetterReason).toMatch(
      /organization\.created on registry\.organization\.v1 would be a \d+-byte/,
    );
    expect(dead.deadLetterReason).toContain("at most 1000000 bytes");
    expect(relay.stats()).toMatchObject({ published: 2, deadLettered: 1 });

    // The relay keeps going: a later event goes out, the dead row stays aside.
    const later = await prisma.$transaction((tx) =>
      enqueueEvent(tx, topics.registryOrganization, "organization.created", organization(4), {
        key: "org-4",
      }),
    );
    relay.nudge();
    expect((await onTopic([later])).map(envelopeId)).toEqual([later]);
    const text = await metrics.metrics();
    expect(text).toMatch(/^outbox_dead_lettered_total 1$/m);
    expect(text).toMatch(/^outbox_published_total 3$/m);
    expect(text).toMatch(/^outbox_pending 0$/m);
  });

  it("finds the row the broker refuses in a batch of many and publishes the rest, in order per key", async () => {
    // A limit above the broker's (1,048,588 bytes): only the broker can refuse the big row now, as one
    // request with every row in it (several partitions).
    setMaxMessageBytes(8 * 1024 * 1024);
    const ids: Array<{ id: string; key: string }> = [];
    for (let i = 0; i < 12; i++) {
      const key = `org-${10 + (i % 6)}`;
      ids.push({ id: await insertRow(prisma, key, organization(10 + (i % 6))), key });
      if (i === 5)
        ids.push({
          id: await insertRow(prisma, "org-12", { ...organization(12), name: "y".repeat(TWO_MIB) }),
          key: "big",
        });
    }
    relay = new OutboxRelay({ db: prisma, producer, pollIntervalMs: 20 });
    relay.start();
    await waitFor("the outbox settled", async () => (await outboxBacklog(prisma)).pending === 0);

    const bigRow = ids.find((r) => r.key === "big")!;
    const dead = await prisma.outboxMessage.findUniqueOrThrow({ where: { id: bigRow.id } });
    expect(dead.deadLetterReason).toMatch(/^refused by the broker: MESSAGE_TOO_LARGE/);
    expect(relay.stats().deadLettered).toBe(1);

    // Every small row is on the topic (rows the refused request appended on other partitions may be
    // there twice, with the same envelope id); per key, first copies come in outbox order.
    const small = ids.filter((r) => r.key !== "big");
    const copies = await onTopic(small.map((r) => r.id));
    expect(new Set(copies.map(envelopeId))).toEqual(new Set(small.map((r) => r.id)));
    for (const key of new Set(small.map((r) => r.key))) {
      const expected = small.filter((r) => r.key === key).map((r) => r.id);
      const seen = [...new Set(copies.filter((m) => m.key === key).map(envelopeId))];
      expect(seen).toEqual(expected);
    }

    // The producer still works on every partition afterwards (its sequence numbers were reset).
    const after: string[] = [];
    for (let i = 0; i < 6; i++) after.push(await insertRow(prisma, `org-${10 + i}`, organization(10 + i)));
    relay.nudge();
    await waitFor("later rows published", async () => (await outboxBacklog(prisma)).pending === 0);
    expect((await onTopic(after)).map(envelopeId).sort()).toEqual([...after].sort());
    expect(relay.stats().deadLettered).toBe(1);
  });

  it("retries a transient failure in order and dead-letters nothing", async () => {
    // The first row's topic does not exist yet (UNKNOWN_TOPIC_OR_PARTITION: retriable): nothing after
    // it may go out first, and nothing is given up.
    const site = await prisma.$transaction((tx) =>
      enqueueEvent(
        tx,
        topics.registrySite,
        "site.created",
        {
          siteId: "sit-1",
          orgId: "org-1",
          name: "Site",
          address: null,
          timezone: "Europe/Stockholm",
        },
        { key: "sit-1" },
      ),
    );
    const orgs: string[] = [];
    // one key, so one partition: their order on the topic is the outbox's
    for (let i = 20; i < 23; i++) orgs.push(await insertRow(prisma, "org-20", organization(i)));
    relay = new OutboxRelay({ db: prisma, producer, pollIntervalMs: 20 });
    relay.start();
    await waitFor("a failed attempt", () => relay!.stats().failures >= 1, { timeoutMs: 20_000 });
    expect(await outboxBacklog(prisma)).toMatchObject({ pending: 4 });
    expect(relay.stats()).toMatchObject({ published: 0, deadLettered: 0 });

    await ensureTopics({ brokers: ctx.kafka.brokers, prefix: ctx.kafka.topicPrefix, only: [SITES] });
    await waitFor("the outbox drained", async () => (await outboxBacklog(prisma)).pending === 0, {
      timeoutMs: 20_000,
    });
    expect((await onTopic(orgs)).map(envelopeId)).toEqual(orgs);
    const sites = await readTopic(ctx.kafka.kafka, `${ctx.kafka.topicPrefix}${SITES}`, { count: 1 });
    expect(sites.map(envelopeId)).toEqual([site]);
    expect(relay.stats().deadLettered).toBe(0);
    expect(await prisma.outboxMessage.count({ where: { deadLetteredAt: { not: null } } })).toBe(0);
  });

  it("reports an outbox whose oldest unsent row is older than the threshold as not ready", async () => {
    const ready = outboxReadiness(prisma, { maxPendingAgeMs: 60_000 });
    await ready(); // empty
    await insertRow(prisma, "org-30", organization(30), 5);
    await ready(); // pending, but young
    await insertRow(prisma, "org-31", organization(31), 0);
    await prisma.$executeRawUnsafe(
      "UPDATE outbox SET enqueued_at = now() - interval '5 minutes' WHERE key = 'org-30'",
    );
    await expect(ready()).rejects.toThrow(/2 events unsent, the oldest for 30\d s \(more than 60 s\)/);

    const metrics = new Registry();
    new OutboxRelay({ db: prisma, producer }).registerMetrics(metrics); // registered, not started
    const text = await metrics.metrics();
    expect(text).toMatch(/^outbox_pending 2$/m);
    expect(Number(/^outbox_oldest_pending_age_seconds (\S+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(300);

    // A dead-lettered row is aside: it does not hold readiness down.
    await prisma.$executeRawUnsafe("UPDATE outbox SET dead_lettered_at = now(), dead_letter_reason = 'test'");
    await ready();
  });

  it("reports a consumer group further behind than the threshold as not ready", async () => {
    const admin = ctx.kafka.kafka.admin();
    await admin.connect();
    try {
      const topic = `${ctx.kafka.topicPrefix}${ORGS}`;
      const groupId = ctx.kafka.groupId("lagging");
      // a few messages of its own, whatever the tests before left there
      for (let i = 1; i <= 4; i++) {
        await producer.publish(topics.registryOrganization, "organization.created", organization(900 + i), {
          key: `org-${900 + i}`,
        });
      }
      const end = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
      expect(end).toBeGreaterThan(3);
      await expect(
        consumerLagReadiness({ admin, groupId, topics: [topic], maxLag: 1_000 })(),
      ).resolves.toBeUndefined();
      await expect(consumerLagReadiness({ admin, groupId, topics: [topic], maxLag: 1 })()).rejects.toThrow(
        new RegExp(`consumer group ${groupId} is more than 1 messages behind`),
      );
      // once the group has committed the end of every partition, it is caught up
      const offsets = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({
        groupId,
        topic,
        partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })),
      });
      await expect(
        consumerLagReadiness({ admin, groupId, topics: [topic], maxLag: 0 })(),
      ).resolves.toBeUndefined();
    } finally {
      await admin.disconnect();
    }
  });
});
