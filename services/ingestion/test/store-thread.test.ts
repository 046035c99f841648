import { readdirSync, readFileSync } from "node:fs";
import { waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ingestion, seedSite, startIngestion } from "./helpers.ts";

// The telemetry store runs in a worker thread of the service: what an operator reads of it (/metrics, /readyz)
// is still on the service's endpoints, and what it stores is there to read.

const GATEWAY = "gw-thread";
const DER = "der-thread-pv";
let ing: Ingestion;

beforeAll(async () => {
  ing = await startIngestion({}, { consumers: true });
  await seedSite(ing.db, {
    orgId: "org-thread",
    siteId: "site-thread",
    deviceId: "dev-thread",
    gatewayId: GATEWAY,
    ders: { [DER]: "solar" },
  });
});
afterAll(async () => {
  await ing?.stop();
});

const metric = async (name: string, label = "") => {
  const text = (await ing.app.inject({ method: "GET", url: "/metrics" })).body;
  const line = text
    .split("\n")
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(label));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
};

/** The nice values of this process's threads, by thread name (Linux: /proc/self/task/<tid>/stat). */
function threadNice(): Array<{ name: string; nice: number }> {
  return readdirSync("/proc/self/task").map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    // the fields after the name: state is the 3rd of stat, nice the 19th
    const nice = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
    return { name, nice };
  });
}

describe("the telemetry store in its thread", () => {
  it("runs at nice 10, below the thread that answers gateways", () => {
    const threads = threadNice();
    const workers = threads.filter((t) => t.name === "WorkerThread");
    // vitest's own workers may be threads of this process too: the store's is the one at nice 10
    expect(workers.map((t) => t.nice)).toContain(10);
    expect(threads[0]?.nice).toBe(0);
  });

  it("is a readiness check of the service", async () => {
    const res = await ing.app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().checks["consumer telemetry-store"]).toBe("ok");
  });

  it("stores what is acknowledged, and its counters are on the service's /metrics", async () => {
    const base = Date.now() - 3_600_000;
    const items = Array.from({ length: 50 }, (_, i) => ({
      derId: DER,
      reading: { type: "pv", timestamp: base + i * 5_000, W: -100 - i, total_generation_Wh: 1_000 + i },
    }));
    const res = await ing.app.inject({
      method: "POST",
      url: "/v1/telemetry",
      headers: ing.auth(GATEWAY),
      payload: items,
    });
    expect(res.json().accepted).toBe(50);
    await waitFor(
      "the readings stored",
      async () => (await ing.db.reading.count({ where: { derId: DER } })) === 50,
    );
    await waitFor(
      "the stored counter on /metrics",
      async () => (await metric("ingestion_readings_stored_total")) === 50,
    );
    // the runner's counters come back from the thread every 100 ms, so they may follow the store's by that much
    await waitFor(
      "the consumer's processed counter on /metrics",
      async () =>
        ((await metric("kafka_batch_consumer_messages_processed_total", "telemetry-store")) ?? 0) >= 1,
    );
    const twin = await ing.db.twin.findUnique({ where: { derId: DER } });
    expect(twin?.lastReadingAt.getTime()).toBe(base + 49 * 5_000);

    // the same batch again: found stored, counted as duplicates, nothing changes
    await ing.app.inject({
      method: "POST",
      url: "/v1/telemetry",
      headers: ing.auth(GATEWAY),
      payload: items,
    });
    await waitFor(
      "the duplicates counted",
      async () => (await metric("ingestion_readings_duplicate_total")) === 50,
    );
    expect(await ing.db.reading.count({ where: { derId: DER } })).toBe(50);
  });
});
