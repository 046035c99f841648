import { fork } from "node:child_process";
import { join } from "node:path";
import { type Envelope, topics } from "@energy/contracts";
import { createTestKafka, groupCaughtUp, readTopic, waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import {
  ConsumerRunner,
  EventProducer,
  enqueueEvent,
  event,
  OutboxRelay,
  type SqlClient,
} from "../src/index.ts";
import type { PrismaClient } from "./generated/prisma/client.ts";
import { organization, packageDir, prismaFor, setupRealComponents } from "./helpers.ts";

const TOPIC = topics.registryOrganization;

function applyingRunner(
  ctx: Awaited<ReturnType<typeof setupRealComponents>>,
  prisma: PrismaClient,
  producer: EventProducer,
  group: string,
  eventType: "organization.created" | "organization.updated",
  onApplied?: () => Promise<void>,
) {
  return new ConsumerRunner({
    kafka: ctx.kafka.kafka,
    groupId: group,
    topicPrefix: ctx.kafka.topicPrefix,
    producer,
    db: prisma,
    subscriptions: [
      {
        topic: TOPIC,
        handlers: {
          [eventType]: async (
            p: { orgId: string },
            { envelope, tx }: { envelope: Envelope; tx: SqlClient },
          ) => {
            await tx.$executeRawUnsafe(
              "INSERT INTO applied_effect (entity_id, event_id) VALUES ($1, $2)",
              p.orgId,
              envelope.id,
            );
            await onApplied?.();
          },
        },
      },
    ],
  });
}

describe("outbox relay and consumer restarts (real broker and database)", () => {
  let ctx: Awaited<ReturnType<typeof setupRealComponents>>;
  let prisma: PrismaClient;
  let producer: EventProducer;

  beforeAll(async () => {
    ctx = await setupRealComponents();
    prisma = prismaFor(ctx.db.url);
    producer = new EventProducer(ctx.kafka.kafka, { source: "registry", topicPrefix: ctx.kafka.topicPrefix });
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await prisma?.$disconnect();
    await ctx?.db.drop();
  });

  it("a relay killed between publish and mark still yields exactly one effect per event", async () => {
    await prisma.$transaction(async (tx) => {
      for (let i = 1; i <= 5; i++) {
        await enqueueEvent(tx, TOPIC, "organization.created", organization(i));
      }
    });

    // 1. A relay process publishes the batch and is SIGKILLed before it marks the rows.
    const child = fork(join(packageDir, "test/fixtures/relay-until-published.ts"), [], {
      cwd: packageDir,
      execArgv: ["--import", "tsx"],
      env: {
        ...process.env,
        DATABASE_URL: ctx.db.url,
        BROKERS: ctx.kafka.brokers,
        PREFIX: ctx.kafka.topicPrefix,
      },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const published = await new Promise<number>((resolve, reject) => {
      child.on("message", (m: { published: number }) => resolve(m.published));
      child.on("exit", (code) => reject(new Error(`relay child exited early (${code})`)));
    });
    child.removeAllListeners("exit");
    const exited = new Promise((r) => child.on("exit", r));
    child.kill("SIGKILL");
    await exited;
    expect(published).toBe(5);
    const unsent = await prisma.outboxMessage.count({ where: { sentAt: null } });
    expect(unsent).toBe(5); // the crash lost the "sent" marks

    // 2. A new relay resumes: the events go out a second time and are marked.
    const relay = new OutboxRelay({ db: prisma, producer, pollIntervalMs: 20 });
    relay.start();
    await waitFor(
      "outbox drained",
      async () => (await prisma.outboxMessage.count({ where: { sentAt: null } })) === 0,
    );
    await relay.stop();
    const onTopic = await readTopic(ctx.kafka.kafka, `${ctx.kafka.topicPrefix}${TOPIC.name}`, { count: 10 });
    expect(onTopic).toHaveLength(10); // each event twice, with the same envelope id
    expect(new Set(onTopic.map((m) => JSON.parse(m.headers.envelope!).id)).size).toBe(5);
    // per key, the order is kept: org-N's copies are adjacent on its partition
    for (const m of onTopic) expect(m.key).toBe(JSON.parse(m.value!).orgId);
    // compact JSON, as enqueued, though this outbox's payload column is jsonb (whose text has spaces)
    for (const m of onTopic) expect(m.value).toBe(JSON.stringify(JSON.parse(m.value!)));

    // 3. The consumer applies each event once.
    const runner = applyingRunner(ctx, prisma, producer, "outbox-effects", "organization.created");
    await runner.start();
    try {
      await waitFor("duplicates seen", () => runner.stats().processed + runner.stats().duplicates === 10);
      const effects = await prisma.appliedEffect.findMany();
      expect(effects.map((e) => e.entityId).sort()).toEqual(["org-1", "org-2", "org-3", "org-4", "org-5"]);
      expect(runner.stats().duplicates).toBe(5);
    } finally {
      await runner.stop();
    }
  });

  it("a consumer stopped mid-stream and started again loses and duplicates nothing", async () => {
    await prisma.appliedEffect.deleteMany();
    // a topic of its own: what the test before left on the file's topic plays no part
    const own = { ...ctx, kafka: await createTestKafka({ topics: [TOPIC.name] }) };
    const ownProducer = new EventProducer(own.kafka.kafka, {
      source: "registry",
      topicPrefix: own.kafka.topicPrefix,
    });
    const admin = own.kafka.kafka.admin();
    await Promise.all([ownProducer.connect(), admin.connect()]);
    onTestFinished(() => Promise.all([ownProducer.disconnect(), admin.disconnect()]).then(() => {}));
    const total = 600;
    const events = Array.from({ length: total }, (_, i) =>
      event(TOPIC, "organization.updated", organization(1000 + i), { key: `org-${1000 + (i % 37)}` }),
    );
    await ownProducer.publishAll(events);

    // the first runner holds its 150th event until it has been told to stop: it stops mid-stream, with
    // that event in hand (finished and committed) and the rest of the stream not yet handled
    let applied = 0;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = applyingRunner(own, prisma, ownProducer, "restart", "organization.updated", async () => {
      if (++applied === 150) await held;
    });
    await first.start();
    await waitFor("the 150th event in hand", () => applied >= 150);
    const stopped = first.stop(); // mid-stream
    release();
    await stopped;
    const afterFirst = await prisma.appliedEffect.count();
    expect(afterFirst).toBe(150);

    const second = applyingRunner(own, prisma, ownProducer, "restart", "organization.updated");
    await second.start();
    try {
      // caught up: the group committed the end of every partition, so nothing more can arrive
      await waitFor(
        "the group caught up with the topic",
        () => groupCaughtUp(admin, own.kafka.groupId("restart"), `${own.kafka.topicPrefix}${TOPIC.name}`),
        { timeoutMs: 30_000 },
      );
      const rows = await prisma.appliedEffect.findMany({ select: { eventId: true } });
      expect(rows).toHaveLength(total);
      expect(new Set(rows.map((r) => r.eventId)).size).toBe(total);
    } finally {
      await second.stop();
    }
  });
});
