import { randomUUID } from "node:crypto";
import { topics } from "@energy/contracts";
import { type ConsumerRunner, EventProducer, event } from "@energy/kafka";
import { readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry } from "./helpers.ts";

const LIVENESS = topics.ingestionLiveness.name;
const DEVICE_TOPIC = topics.registryDevice.name;

describe("the ingestion liveness consumer", () => {
  let r: Awaited<ReturnType<typeof startRegistry>>;
  let ingestion: EventProducer;
  let orgId: string;
  let siteId: string;

  beforeAll(async () => {
    r = await startRegistry({}, { consumers: true }); // the ingestion-liveness consumer
    ingestion = new EventProducer(r.testKafka.kafka, {
      source: "ingestion",
      topicPrefix: r.testKafka.topicPrefix,
    });
    await ingestion.connect();
    await r.db.identity.create({ data: { id: "usr-owner", type: "user", name: "Owner" } });
    orgId = (await call("POST", "/organizations", { name: "Liveness Org", kind: "developer" })).json().id;
    const site = { name: "Site", timezone: "Europe/Stockholm" };
    siteId = (await call("POST", `/organizations/${orgId}/sites`, site)).json().id;
  });
  afterAll(async () => {
    await ingestion?.disconnect();
    await r?.close();
  });

  function call(method: "GET" | "POST" | "PATCH", url: string, payload?: unknown) {
    return r.app.inject({
      method,
      url,
      headers: r.auth("usr-owner"),
      ...(payload ? { payload: payload as object } : {}),
    });
  }

  async function newDevice(): Promise<string> {
    const res = await call("POST", `/organizations/${orgId}/devices`, {
      siteId,
      type: "inverter",
      name: "I",
    });
    expect(res.statusCode).toBe(201);
    return res.json().id;
  }

  const report = (deviceId: string, to: "active" | "stale" | "disconnected", id = randomUUID()) =>
    event(
      topics.ingestionLiveness,
      "device.state_changed",
      { deviceId, orgId, from: "pending", to, lastSeenAt: new Date().toISOString() },
      { id },
    );
  const runner = { stats: () => (r.runner("ingestion-liveness") as ConsumerRunner).stats() };

  async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Waits for the outbox to drain, then reads registry.device.v1 (state changes of one device). */
  async function stateChanges(deviceId: string) {
    await until(
      "the outbox to drain",
      async () => (await r.db.outboxMessage.count({ where: { sentAt: null } })) === 0,
    );
    const count = await r.db.outboxMessage.count({ where: { topic: DEVICE_TOPIC } });
    const messages = await readTopic(r.testKafka.kafka, `${r.testKafka.topicPrefix}${DEVICE_TOPIC}`, {
      count,
      settleMs: 500,
    });
    return messages
      .filter((m) => m.key === deviceId && JSON.parse(m.headers.envelope!).type === "device.state_changed")
      .map((m) => JSON.parse(m.value!) as { from: string; to: string; reason: string | null });
  }

  it("applies an active report once, and a redelivered report (same envelope id) changes nothing", async () => {
    const deviceId = await newDevice();
    const event = report(deviceId, "active");
    await ingestion.publishAll([event]);
    await until("the device to become active", async () => {
      const res = await call("GET", `/organizations/${orgId}/devices/${deviceId}`);
      return res.json().state === "active";
    });
    // the runner counts a message once its transaction returned: after the device shows the change
    await until("the report counted", () => runner.stats().processed >= 1);
    const processed = runner.stats().processed;
    await ingestion.publishAll([event]); // the same envelope id: a duplicate
    await until("the duplicate to be seen", () => runner.stats().duplicates >= 1);
    expect(runner.stats().processed).toBe(processed);
    expect((await call("GET", `/organizations/${orgId}/devices/${deviceId}`)).json().state).toBe("active");
    const changes = await stateChanges(deviceId);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ from: "pending", to: "active" });
    expect(changes[0]!.reason).toMatch(/liveness/);
  });

  it("sends a report for a device the registry does not know to the DLQ with the reason", async () => {
    const before = runner.stats().deadLettered;
    const [envelope] = await ingestion.publishAll([report("dev-unknown00000", "stale")]);
    const dead = await readTopic(r.testKafka.kafka, `${r.testKafka.topicPrefix}${LIVENESS}.dlq`, {
      count: 1,
    });
    expect(dead).toHaveLength(1);
    expect(dead[0]!.key).toBe("dev-unknown00000");
    expect(JSON.parse(dead[0]!.headers.envelope!).id).toBe(envelope!.id);
    expect(dead[0]!.headers["dlq-error"]).toMatch(
      /FatalMessageError: device dev-unknown00000 is not in the registry/,
    );
    expect(dead[0]!.headers["dlq-origin-topic"]).toBe(`${r.testKafka.topicPrefix}${LIVENESS}`);
    expect(runner.stats().deadLettered).toBe(before + 1);
  });

  it("leaves an orphaned device orphaned", async () => {
    const deviceId = await newDevice();
    const patched = await call("PATCH", `/organizations/${orgId}/devices/${deviceId}`, { state: "orphaned" });
    expect(patched.json().state).toBe("orphaned");
    const processed = runner.stats().processed;
    await ingestion.publishAll([report(deviceId, "active")]);
    await until("the report to be consumed", () => runner.stats().processed > processed);
    expect((await call("GET", `/organizations/${orgId}/devices/${deviceId}`)).json().state).toBe("orphaned");
    const changes = await stateChanges(deviceId);
    expect(changes.map((c) => c.to)).toEqual(["orphaned"]); // only the PATCH's own event
  });
});
