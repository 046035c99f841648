import { join } from "node:path";
import { topics } from "@energy/contracts";
import {
  createTestDatabase,
  createTestKafka,
  groupCaughtUp,
  readTopic,
  type TestDatabase,
  type TestKafka,
  waitFor,
} from "@energy/testing";
import { Registry } from "prom-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BatchConsumerRunner,
  type BatchConsumerRunnerOptions,
  type BatchContext,
  type BatchHandler,
  ConsumerRunner,
  createEnvelope,
  type DecodedMessage,
  EventProducer,
  envelopeToHeaders,
  event,
  FatalMessageError,
  type SqlClient,
} from "../src/index.ts";
import type { PrismaClient } from "./generated/prisma/client.ts";
import { organization, packageDir, prismaFor } from "./helpers.ts";

const TOPIC = topics.registryOrganization;
type Org = ReturnType<typeof organization>;
type Call = { size: number; offsets: string[]; orgIds: string[] } & Omit<BatchContext, "heartbeat">;

describe("BatchConsumerRunner (real broker and database)", () => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    db = await createTestDatabase({
      cwd: packageDir,
      migrations: join(packageDir, "test/prisma/migrations"),
    });
    prisma = prismaFor(db.url);
    // What a batch handler dedupes on: a natural key (here the organization id), per test.
    await prisma.$executeRawUnsafe(
      `CREATE TABLE batch_effect (
         test text NOT NULL, org_id text NOT NULL, event_id uuid NOT NULL, PRIMARY KEY (test, org_id))`,
    );
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await db?.drop();
  });

  /** Fresh topics (and a producer) for one test: every test reads its topic from the beginning. */
  async function fresh() {
    const kafka = await createTestKafka({ topics: [TOPIC.name] });
    const producer = new EventProducer(kafka.kafka, { source: "registry", topicPrefix: kafka.topicPrefix });
    const admin = kafka.kafka.admin();
    await Promise.all([producer.connect(), admin.connect()]);
    cleanups.push(
      () => producer.disconnect(),
      () => admin.disconnect(),
    );
    const fullTopic = `${kafka.topicPrefix}${TOPIC.name}`;
    /** Waits until `group` has committed the end of every partition: nothing more will be handed to it. */
    const caughtUp = (group: string) =>
      waitFor(
        `${group} caught up with the topic`,
        () => groupCaughtUp(admin, kafka.groupId(group), fullTopic),
        {
          timeoutMs: 30_000,
        },
      );
    return { kafka, producer, admin, fullTopic, caughtUp };
  }

  function runner(
    t: { kafka: TestKafka; producer: EventProducer },
    group: string,
    handler: BatchHandler<Org>,
    more: Partial<BatchConsumerRunnerOptions> = {},
  ): BatchConsumerRunner {
    const r = new BatchConsumerRunner({
      kafka: t.kafka.kafka,
      groupId: group, // the runner puts the topic prefix in front
      topicPrefix: t.kafka.topicPrefix,
      producer: t.producer,
      retry: { initialMs: 20, maxMs: 100, maxAttempts: 3 },
      subscriptions: [{ topic: TOPIC, handler }],
      ...more,
    });
    cleanups.push(() => r.stop());
    return r;
  }

  async function publishOrganizations(producer: EventProducer, from: number, count: number): Promise<void> {
    for (let i = 0; i < count; i += 500) {
      const n = Math.min(500, count - i);
      await producer.publishAll(
        Array.from({ length: n }, (_, j) =>
          event(TOPIC, "organization.updated", organization(from + i + j), {
            key: `org-${(from + i + j) % 37}`,
          }),
        ),
      );
    }
  }

  /** The handler's write: insert the chunk's effects; a message seen before changes nothing. */
  async function applyDeduped(test: string, messages: DecodedMessage<Org>[], sql: SqlClient = prisma) {
    await sql.$executeRawUnsafe(
      `INSERT INTO batch_effect (test, org_id, event_id)
       SELECT $1, * FROM unnest($2::text[], $3::uuid[]) ON CONFLICT (test, org_id) DO NOTHING`,
      test,
      messages.map((m) => m.payload.orgId),
      messages.map((m) => m.envelope.id),
    );
  }

  const effects = async (test: string) =>
    Number(
      (
        await prisma.$queryRawUnsafe<Array<{ n: bigint }>>(
          "SELECT count(*) AS n FROM batch_effect WHERE test = $1",
          test,
        )
      )[0]!.n,
    );

  function recorder(calls: Call[], seen: DecodedMessage<Org>[]) {
    return (messages: DecodedMessage<Org>[], { heartbeat: _, ...ctx }: BatchContext) => {
      calls.push({
        ...ctx,
        size: messages.length,
        offsets: messages.map((m) => m.offset),
        orgIds: messages.map((m) => m.payload.orgId),
      });
      seen.push(...messages);
    };
  }

  it("hands chunks of at most maxBatchSize, every message once, in offset order per partition", async () => {
    const t = await fresh();
    const total = 1_500;
    await publishOrganizations(t.producer, 0, total); // all there before the first fetch: big batches
    const calls: Call[] = [];
    const seen: DecodedMessage<Org>[] = [];
    const record = recorder(calls, seen);
    const r = runner(t, "chunks", async (messages, ctx) => record(messages, ctx), { maxBatchSize: 100 });
    await r.start();
    await waitFor("every message handled", () => seen.length >= total);
    await t.caughtUp("chunks"); // a message handed twice would have been by now

    expect(seen).toHaveLength(total);
    expect(Math.max(...calls.map((c) => c.size))).toBe(100); // fetches were split…
    for (const call of calls) expect(call.size).toBeLessThanOrEqual(100); // …never exceeded
    const byPartition = new Map<number, string[]>();
    for (const call of calls) {
      expect(call).toMatchObject({ topic: TOPIC.name, attempt: 1, isolating: false });
      byPartition.set(call.partition, [...(byPartition.get(call.partition) ?? []), ...call.offsets]);
    }
    expect(byPartition.size).toBe(3);
    for (const offsets of byPartition.values()) {
      expect(offsets).toEqual(offsets.map((_, i) => String(i))); // a fresh topic: 0, 1, 2, … without gaps
    }
    // each chunk knows the backlog behind it: every message was there before the first fetch, so the
    // partition's messages after the chunk's last
    for (const call of calls) {
      const inPartition = byPartition.get(call.partition)!.length;
      expect(call.behind).toBe(inPartition - Number(call.offsets.at(-1)) - 1);
    }
    expect(calls.some((c) => c.behind >= 100)).toBe(true);
    for (const m of seen) {
      expect(m.envelope.type).toBe("organization.updated");
      expect(m.topic).toBe(TOPIC.name);
      expect(m.key).toBe(`org-${Number(m.payload.orgId.slice(4)) % 37}`);
    }
    expect(new Set(seen.map((m) => m.payload.orgId)).size).toBe(total);
    expect(seen.find((m) => m.payload.orgId === "org-7")?.payload).toEqual(organization(7));
    const stats = r.stats();
    expect(stats).toMatchObject({ processed: total, batches: calls.length, deadLettered: 0, errors: 0 });
    expect(Object.values(stats.lag)).toEqual([0, 0, 0]);
  });

  it("with consumers: 2, a chunk held on one partition does not hold up the other consumer's partitions", async () => {
    const t = await fresh();
    const total = 900;
    const perPartition = new Map<number, number>();
    const handled: string[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let heldPartition: number | undefined;
    const r = runner(
      t,
      "two-consumers",
      async (messages, ctx) => {
        heldPartition ??= ctx.partition;
        if (ctx.partition === heldPartition) await held; // the first chunk's partition waits
        await applyDeduped("two-consumers", messages);
        handled.push(...messages.map((m) => m.payload.orgId));
        perPartition.set(ctx.partition, (perPartition.get(ctx.partition) ?? 0) + messages.length);
      },
      { consumers: 2, maxBatchSize: 50 },
    );
    // both consumers in the group, its partitions shared, before there is anything to hold (a consumer
    // holding a chunk would keep the other from joining until it let go)
    await r.start();
    await publishOrganizations(t.producer, 20_000, total); // the topic's 3 partitions, ~300 messages each
    const sizes = new Map(
      (await t.admin.fetchTopicOffsets(t.fullTopic)).map((o) => [o.partition, Number(o.high)] as const),
    );
    // The consumer that is not holding the waiting chunk applies its partitions to the end meanwhile.
    await waitFor("a partition other than the held one applied to its end", () =>
      [0, 1, 2].some((p) => p !== heldPartition && (perPartition.get(p) ?? 0) >= sizes.get(p)!),
    );
    expect(perPartition.get(heldPartition!) ?? 0).toBe(0);
    release();
    await t.caughtUp("two-consumers");
    expect(new Set(handled).size).toBe(total);
    expect(await effects("two-consumers")).toBe(total);
    expect(Object.values(r.stats().lag)).toEqual([0, 0, 0]);
  });

  it("refuses a consumer count that is not a positive integer", () => {
    const t = { kafka: { kafka: {} } as TestKafka, producer: {} as EventProducer };
    for (const consumers of [0, -1, 1.5]) {
      expect(() => runner(t, "bad", async () => {}, { consumers })).toThrow(
        `consumers must be a positive integer, got ${consumers}`,
      );
    }
  });

  it("sends poison messages to <topic>.dlq with their origin and the error; the rest is handled", async () => {
    const t = await fresh();
    const raw = t.kafka.kafka.producer();
    await raw.connect();
    cleanups.push(() => raw.disconnect());
    const envelope = (type: string) => envelopeToHeaders(createEnvelope({ type, source: "registry" }));
    await raw.send({
      topic: t.fullTopic,
      messages: [
        { key: "org-10", value: JSON.stringify(organization(10)), headers: envelope("organization.created") },
        {
          key: "org-11",
          value: JSON.stringify({ ...organization(11), kind: "wholesaler" }),
          headers: envelope("organization.created"),
        },
        { key: "org-12", value: "not json at all", headers: envelope("organization.created") },
        { key: "org-13", value: JSON.stringify(organization(13)) }, // no envelope
        {
          key: "org-14",
          value: JSON.stringify(organization(14)),
          headers: envelope("organization.exploded"),
        },
        { key: "org-15", value: JSON.stringify(organization(15)), headers: envelope("organization.created") },
      ],
    });
    const handled: string[] = [];
    const group = t.kafka.groupId("poison");
    const r = runner(
      t,
      "poison",
      async (messages) => void handled.push(...messages.map((m) => m.payload.orgId)),
    );
    await r.start();
    await waitFor(
      "the good messages and the dead letters",
      () => handled.length === 2 && r.stats().deadLettered === 4,
    );

    expect(handled.sort()).toEqual(["org-10", "org-15"]);
    const dead = await readTopic(t.kafka.kafka, `${t.fullTopic}.dlq`, { count: 4, settleMs: 300 });
    expect(dead.map((m) => m.key).sort()).toEqual(["org-11", "org-12", "org-13", "org-14"]);
    const byKey = Object.fromEntries(dead.map((m) => [m.key, m]));
    for (const m of dead) {
      expect(m.headers["dlq-origin-topic"]).toBe(t.fullTopic);
      expect(m.headers["dlq-origin-partition"]).toMatch(/^\d+$/);
      expect(m.headers["dlq-origin-offset"]).toMatch(/^\d+$/);
      expect(m.headers["dlq-consumer-group"]).toBe(group);
      expect(Date.parse(m.headers["dlq-failed-at"]!)).not.toBeNaN();
    }
    expect(byKey["org-11"]!.headers["dlq-error"]).toMatch(/FatalMessageError: .*payload\.kind/);
    expect(byKey["org-11"]!.value).toContain("wholesaler"); // the original value…
    expect(JSON.parse(byKey["org-11"]!.headers.envelope!).type).toBe("organization.created"); // …and headers
    expect(byKey["org-12"]!.headers["dlq-error"]).toMatch(/SyntaxError|JSON/);
    expect(byKey["org-13"]!.headers["dlq-error"]).toMatch(/envelope/);
    expect(byKey["org-14"]!.headers["dlq-error"]).toMatch(/"organization.exploded" is not in the catalog/);
    expect(r.stats()).toMatchObject({ processed: 2, deadLettered: 4, errors: 4, retries: 0 });

    // Operators see it in the service's metrics, beside ConsumerRunner's, on one registry.
    const registry = new Registry();
    r.registerMetrics(registry);
    const other = runner(t, "poison-other", async () => {});
    other.registerMetrics(registry);
    const single = new ConsumerRunner({
      kafka: t.kafka.kafka,
      groupId: t.kafka.groupId("single"),
      producer: t.producer,
      subscriptions: [],
    });
    single.registerMetrics(registry);
    const metrics = await registry.metrics();
    expect(metrics).toContain(`kafka_batch_consumer_messages_dead_lettered_total{group="${group}"} 4`);
    expect(metrics).toContain(`kafka_batch_consumer_messages_processed_total{group="${group}"} 2`);
    expect(metrics).toContain(
      `kafka_batch_consumer_messages_processed_total{group="${t.kafka.groupId("poison-other")}"} 0`,
    );
    expect(metrics).toMatch(
      new RegExp(`kafka_batch_consumer_lag\\{group="${group}",topic="${TOPIC.name}",partition="\\d+"\\} 0`),
    );
    expect(metrics).toContain(
      `kafka_consumer_messages_processed_total{group="${t.kafka.groupId("single")}"} 0`,
    );
  });

  it("retries a chunk whose transaction failed transiently, losing nothing", async () => {
    const t = await fresh();
    const total = 300;
    await publishOrganizations(t.producer, 1_000, total);
    const calls: Call[] = [];
    const record = recorder(calls, []);
    let failures = 2;
    const r = runner(t, "transient", async (messages, ctx) => {
      record(messages, ctx);
      await prisma.$transaction(async (tx) => {
        await applyDeduped("transient", messages, tx); // rolled back by the failures below
        if (failures-- > 0) {
          throw Object.assign(new Error("could not serialize access due to concurrent update"), {
            code: "40001",
          });
        }
      });
    });
    await r.start();
    await waitFor("every message applied", async () => (await effects("transient")) === total);
    await t.caughtUp("transient"); // every call made

    const first = calls[0]!;
    expect(calls.slice(0, 3).map((c) => [c.attempt, c.offsets])).toEqual([
      [1, first.offsets],
      [2, first.offsets],
      [3, first.offsets],
    ]);
    expect(await effects("transient")).toBe(total);
    expect(r.stats()).toMatchObject({ processed: total, retries: 2, errors: 2, deadLettered: 0 });
  });

  it("a FatalMessageError on one message dead-letters only that message; the chunk's others are applied", async () => {
    const t = await fresh();
    const total = 60;
    await publishOrganizations(t.producer, 3_000, total);
    const calls: Call[] = [];
    const record = recorder(calls, []);
    const r = runner(t, "fatal", async (messages, ctx) => {
      record(messages, ctx);
      if (messages.some((m) => m.payload.orgId === "org-3013")) {
        throw new FatalMessageError("org-3013 breaks a rule");
      }
      await applyDeduped("fatal", messages);
    });
    await r.start();
    await waitFor("the others applied", async () => (await effects("fatal")) === total - 1);
    await waitFor("the dead letter", () => r.stats().deadLettered === 1);

    const dead = await readTopic(t.kafka.kafka, `${t.fullTopic}.dlq`, { count: 1, settleMs: 300 });
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0]!.value!).orgId).toBe("org-3013");
    expect(dead[0]!.headers["dlq-error"]).toBe("FatalMessageError: org-3013 breaks a rule");
    const failedChunk = calls.find((c) => c.orgIds.includes("org-3013") && !c.isolating)!;
    const isolated = calls.filter((c) => c.isolating);
    // Not retried as a chunk: isolated at once, each message of that chunk on its own, in order.
    expect(calls.filter((c) => !c.isolating && c.partition === failedChunk.partition)).toHaveLength(1);
    expect(isolated.map((c) => c.size)).toEqual(failedChunk.offsets.map(() => 1));
    expect(isolated.flatMap((c) => c.offsets)).toEqual(failedChunk.offsets);
    const stored = await prisma.$queryRawUnsafe<Array<{ org_id: string }>>(
      "SELECT org_id FROM batch_effect WHERE test = 'fatal'",
    );
    expect(stored.map((s) => s.org_id)).not.toContain("org-3013");
    expect(r.stats()).toMatchObject({ processed: total - 1, deadLettered: 1, retries: 0 });
  });

  it("an unknown failure is retried maxAttempts times as a chunk, then only the message at fault is dead-lettered", async () => {
    const t = await fresh();
    const total = 60;
    await publishOrganizations(t.producer, 4_000, total);
    const calls: Call[] = [];
    const record = recorder(calls, []);
    const r = runner(t, "unknown", async (messages, ctx) => {
      record(messages, ctx);
      if (messages.some((m) => m.payload.orgId === "org-4021")) throw new Error("boom");
      await applyDeduped("unknown", messages);
    });
    await r.start();
    await waitFor("the others applied", async () => (await effects("unknown")) === total - 1);
    await waitFor("the dead letter", () => r.stats().deadLettered === 1);

    const dead = await readTopic(t.kafka.kafka, `${t.fullTopic}.dlq`, { count: 1, settleMs: 300 });
    expect(dead.map((m) => JSON.parse(m.value!).orgId)).toEqual(["org-4021"]);
    expect(dead[0]!.headers["dlq-error"]).toBe("Error: boom");
    const withFault = calls.filter((c) => c.orgIds.includes("org-4021"));
    expect(withFault.map((c) => [c.isolating, c.attempt])).toEqual([
      [false, 1],
      [false, 2],
      [false, 3],
      [true, 1],
      [true, 2],
      [true, 3],
    ]);
    expect(r.stats()).toMatchObject({ processed: total - 1, deadLettered: 1, retries: 4, errors: 6 });
  });

  it("stopped while a chunk waits to retry, it commits none of it: the next runner gets it all", async () => {
    const t = await fresh();
    const total = 40;
    await publishOrganizations(t.producer, 6_000, total);
    const busy = Object.assign(new Error("the database is busy"), { code: "53300" });
    let attempts = 0;
    const first = runner(
      t,
      "stop-retrying",
      async () => {
        attempts++;
        throw busy;
      },
      { retry: { initialMs: 200, maxMs: 200 } },
    );
    await first.start();
    await waitFor("retrying", () => first.stats().retries >= 2);
    // the chunk never succeeds: stop resolves only because it ends the wait for the next attempt
    const attemptsAtStop = attempts;
    await first.stop();
    expect(attempts - attemptsAtStop).toBeLessThanOrEqual(1); // at most the attempt already in hand
    expect(first.stats()).toMatchObject({ processed: 0, deadLettered: 0 });

    const handled = new Set<string>();
    const second = runner(t, "stop-retrying", async (messages) => {
      for (const m of messages) handled.add(m.payload.orgId);
    });
    await second.start();
    await waitFor("every message handled by the second runner", () => handled.size === total);
    expect(second.stats().deadLettered).toBe(0);
  });

  it("stopped mid-stream and restarted in the same group: every message handled, none skipped", async () => {
    const t = await fresh();
    const total = 3_000;
    await publishOrganizations(t.producer, 10_000, total);
    const handled: string[][] = [[], []];
    // the first runner holds the chunk that takes it past 500 until it has been told to stop: it stops
    // mid-stream with that chunk in hand (finished and committed), whatever the speed of the machine
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const runnerNo = (n: 0 | 1) =>
      runner(
        t,
        "restart",
        async (messages) => {
          await applyDeduped("restart", messages);
          handled[n]!.push(...messages.map((m) => m.payload.orgId));
          if (n === 0 && handled[0]!.length >= 500) await held;
        },
        { maxBatchSize: 50 },
      );

    const first = runnerNo(0);
    await first.start();
    await waitFor("a chunk past 500 in hand", () => handled[0]!.length >= 500);
    const stopped = first.stop(); // mid-stream
    release();
    await stopped;
    const afterFirst = await effects("restart");
    expect(afterFirst).toBe(handled[0]!.length);
    expect(afterFirst).toBeLessThan(total);

    const second = runnerNo(1);
    await second.start();
    await t.caughtUp("restart");
    expect(new Set([...handled[0]!, ...handled[1]!]).size).toBe(total); // none skipped
    // The second runner resumed from what the first committed on stop, not from the beginning: it was
    // handed exactly the messages the first had not handled
    const byFirst = new Set(handled[0]);
    expect(handled[1]!.filter((orgId) => byFirst.has(orgId))).toEqual([]);
    expect(handled[1]!).toHaveLength(total - afterFirst);
  });
});
