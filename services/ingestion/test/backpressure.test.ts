import type { AddressInfo } from "node:net";
import { BatchConsumerRunner } from "@energy/kafka";
import { waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { telemetryStore } from "../src/consumers/telemetry-store.ts";
import type { StoreLagMonitor } from "../src/store/store-lag.ts";
import { type Ingestion, seedSite, startIngestion } from "./helpers.ts";

// Bounded store lag: while the telemetry store is more than half of STORE_LAG_MAX_SECONDS behind, gateways
// are slowed (HTTP 503 + Retry-After, WebSocket answers wait) and they go on by themselves once it caught up.
// Here the store is simply not running at first, as after a crash: the lag grows from the first reading.

const GATEWAY = "gw-slow";
const DER = "der-slow-pv";
let ing: Ingestion;
let monitor: StoreLagMonitor;
let store: { start(): Promise<void>; stop(): Promise<void> } | undefined;
let url: string;
let tick = 0;
const item = () => ({ derId: DER, reading: { type: "pv", timestamp: Date.now() - 600_000 + ++tick, W: -5 } });

beforeAll(async () => {
  ing = await startIngestion({ STORE_LAG_MAX_SECONDS: "1" });
  monitor = ing.ctx.storeLag; // the service's own, which its "store lag monitor" job starts
  await seedSite(ing.db, {
    orgId: "org-slow",
    siteId: "site-slow",
    deviceId: "dev-slow",
    gatewayId: GATEWAY,
    ders: { [DER]: "solar" },
  });
  await ing.app.listen({ port: 0, host: "127.0.0.1" });
  url = `ws://127.0.0.1:${(ing.app.server.address() as AddressInfo).port}/v1/telemetry/ws`;
  monitor.registerMetrics(ing.app.metrics);
  monitor.start();
});
afterAll(async () => {
  await store?.stop();
  await monitor?.stop();
  await ing?.close();
});

const post = () =>
  ing.app.inject({ method: "POST", url: "/v1/telemetry", headers: ing.auth(GATEWAY), payload: [item()] });

describe("gateways are slowed while the telemetry store is behind", () => {
  it("answers at full speed while the store keeps up, then 503 with Retry-After once it is behind", async () => {
    const first = await post();
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ accepted: 1, rejected: [] });

    // nothing applies the reading: its age is the store's lag
    await waitFor("the store lag to pass half the bound", () => monitor.lagMs() > 500, { timeoutMs: 10_000 });
    const slowed = await post();
    expect(slowed.statusCode, slowed.body).toBe(503);
    expect(Number(slowed.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(slowed.json().error).toMatchObject({
      code: "store_behind",
      message: expect.stringContaining("send again in"),
    });
    const metrics = await ing.app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).toMatch(/ingestion_store_lag_seconds({[^}]*})? [0-9.]+/);
  });

  it("holds a WebSocket frame's answer while behind, and answers it and takes HTTP again once caught up", async () => {
    // behind, whether or not the test above ran: a reading nothing applies (refused with 503 if already behind)
    await post();
    await waitFor("the store lag to pass half the bound", () => monitor.lagMs() > 500, { timeoutMs: 10_000 });
    const socket = new WebSocket(url, { headers: ing.auth(GATEWAY) });
    const answers: unknown[] = [];
    socket.on("message", (data) => answers.push(JSON.parse(data.toString())));
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    const lagAtSend = monitor.lagMs();
    socket.send(JSON.stringify({ batchId: "held", items: [item()] }));
    // the monitor has measured the store a second further behind since: no answer yet (the frame waits,
    // nothing of it was taken)
    await waitFor("the lag measured a second later", () => monitor.lagMs() >= lagAtSend + 1_000, {
      timeoutMs: 10_000,
    });
    expect(answers).toEqual([]);

    // the store starts (as after a restart), applies what waited, and the gateways go on by themselves
    // the service's telemetry store subscription, in the group the monitor watches
    store = new BatchConsumerRunner({
      kafka: ing.kafka,
      producer: ing.producer,
      groupId: "ingestion.telemetry-store",
      topicPrefix: ing.testKafka.topicPrefix,
      context: ing.ctx,
      maxBatchSize: 500,
      subscriptions: [telemetryStore],
    });
    await store!.start();
    await waitFor("the held frame's answer", () => answers.length > 0, { timeoutMs: 30_000 });
    expect(answers).toEqual([{ batchId: "held", accepted: 1, rejected: [] }]);
    const again = await post();
    expect(again.statusCode, again.body).toBe(200);
    socket.close();

    // every accepted reading reached the store: the first (taken before the store was behind), the held
    // frame's and the last
    await waitFor(
      "the three readings in the store",
      async () => {
        const [row] = await ing.db.$queryRawUnsafe<Array<{ n: number }>>(
          "SELECT count(*)::int AS n FROM reading WHERE der_id = $1",
          DER,
        );
        return row!.n === 3;
      },
      { timeoutMs: 15_000 },
    );
  });
});
