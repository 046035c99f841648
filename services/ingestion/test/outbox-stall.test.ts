import { readTopic, waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ingestion, seedSite, startIngestion } from "./helpers.ts";

/**
 * The original report of issue 10 ("What was seen" 1): a refused telemetry item with a 2 MiB string field put a
 * reading.rejected event too large for Kafka in the outbox, the relay retried it forever and nothing after it
 * was published, while /readyz said ready.
 */
const GATEWAY = "zap-stall";
const REJECTED = "ingestion.telemetry-rejected.v1";
let ing: Ingestion;
let tick = 0;
const ts = () => Date.now() - 600_000 + ++tick * 1000;

beforeAll(async () => {
  ing = await startIngestion();
  await seedSite(ing.db, {
    orgId: "org-stall",
    siteId: "sit-stall",
    deviceId: "dev-stall",
    gatewayId: GATEWAY,
    ders: { "der-stall-pv": "solar" },
  });
});
afterAll(async () => {
  await ing?.close();
});

function send(items: unknown[]) {
  return ing.app.inject({
    method: "POST",
    url: "/v1/telemetry",
    headers: { ...ing.auth(GATEWAY), "content-type": "application/json" },
    payload: JSON.stringify(items),
  });
}

const pending = () => ing.db.outboxMessage.count({ where: { sentAt: null, deadLetteredAt: null } });

describe("one refused item cannot stall the outbox", () => {
  it("publishes the refusal of an item with a 2 MiB string field, bounded, and every event after it", async () => {
    const huge = {
      derId: "der-stall-pv",
      reading: { type: "pv", timestamp: ts(), make: "x".repeat(2 * 1024 * 1024) },
    };
    const first = await send([huge]);
    expect(first.statusCode, first.body.slice(0, 300)).toBe(200);
    expect(first.json().rejected).toHaveLength(1);
    // a later refusal, for another reason
    const later = await send([{ derId: "der-unknown", reading: { type: "pv", timestamp: ts(), W: 1 } }]);
    expect(later.json().rejected).toHaveLength(1);

    const messages = await readTopic(ing.kafka, `${ing.testKafka.topicPrefix}${REJECTED}`, { count: 2 });
    expect(messages).toHaveLength(2);
    const byDer = new Map(messages.map((m) => [JSON.parse(m.value ?? "{}").derId, m]));
    expect(byDer.get("der-unknown")).toBeDefined();
    // the refusal quotes a bounded excerpt of the item, not its 2 MiB
    expect(Buffer.byteLength(byDer.get("der-stall-pv")?.value ?? "")).toBeLessThan(16 * 1024);
    await waitFor("nothing pending", async () => (await pending()) === 0);
    expect(await ing.db.outboxMessage.count({ where: { deadLetteredAt: { not: null } } })).toBe(0);
  });

  it("answers /readyz not ready while the oldest unsent event is older than the threshold, ready once it is out", async () => {
    expect((await ing.app.inject({ method: "GET", url: "/readyz" })).json().checks.outbox).toBe("ok");
    await ing.relay.stop(); // the broker unreachable, as far as the outbox can tell
    const refused = await send([{ derId: "der-unknown", reading: { type: "pv", timestamp: ts(), W: 2 } }]);
    expect(refused.json().rejected).toHaveLength(1);
    expect(await pending()).toBe(1);
    await ing.db.$executeRawUnsafe(
      "UPDATE outbox SET enqueued_at = now() - interval '5 minutes' WHERE sent_at IS NULL",
    );

    const stalled = await ing.app.inject({ method: "GET", url: "/readyz" });
    expect(stalled.statusCode).toBe(503);
    expect(stalled.json()).toMatchObject({
      status: "not_ready",
      checks: { outbox: "failed", database: "ok" },
    });

    ing.relay.start();
    await waitFor(
      "ready again",
      async () => (await ing.app.inject({ method: "GET", url: "/readyz" })).statusCode === 200,
    );
    expect(await pending()).toBe(0);
  });
});
