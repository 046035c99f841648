import { readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepLiveness } from "../src/liveness/sweep.ts";
import { applyReadings } from "../src/store/apply-readings.ts";
import { accepted } from "./accepted.ts";
import { type Ingestion, seedSite, startIngestion } from "./helpers.ts";

const MIN = 60_000;
const thresholds = { staleAfterMs: 5 * MIN, disconnectedAfterMs: 60 * MIN };
const T0 = Date.now() - 10 * MIN;
const quiet = { derId: "der-quiet", deviceId: "dev-quiet", siteId: "site-l", orgId: "org-l" };
const gone = { derId: "der-gone", deviceId: "dev-gone", siteId: "site-l", orgId: "org-l" };
const busy = { derId: "der-busy", deviceId: "dev-busy", siteId: "site-l", orgId: "org-l" };

let ing: Ingestion;

/** The liveness events in the outbox, oldest first, as from→to per device. */
async function outboxEvents() {
  const rows = await ing.db.outboxMessage.findMany({
    where: { topic: "ingestion.liveness.v1" },
    orderBy: { seq: "asc" },
  });
  return rows.map((row) => {
    const p = row.payload as { deviceId: string; from: string; to: string; lastSeenAt: string | null };
    expect(row.type).toBe("device.state_changed");
    expect(row.key).toBe(p.deviceId);
    return `${p.deviceId} ${p.from}→${p.to}`;
  });
}

const sweep = (at: number) => sweepLiveness(ing.db, { now: new Date(at), ...thresholds });
const state = async (deviceId: string) =>
  (await ing.db.deviceLiveness.findUniqueOrThrow({ where: { deviceId } })).state;

beforeAll(async () => {
  ing = await startIngestion();
  for (const scope of [quiet, gone, busy]) {
    await seedSite(ing.db, { ...scope, gatewayId: "gw-l", ders: { [scope.derId]: "solar" } });
  }
  // dev-quiet and dev-busy are heard from at T0
  await applyReadings(ing.db, [
    accepted(quiet, T0 - 1000, { type: "pv", W: -100 }, T0),
    accepted(busy, T0 - 1000, { type: "pv", W: -100 }, T0),
  ]);
});
afterAll(async () => {
  await ing?.close();
});

describe("liveness sweep", () => {
  it("changes nothing and records nothing while devices are heard from", async () => {
    const before = await outboxEvents();
    expect(await sweep(T0 + 4 * MIN)).toEqual([]);
    expect(await outboxEvents()).toEqual(before);
    expect(await state("dev-quiet")).toBe("active");
  });

  it("moves a device silent past both times straight to disconnected, and skips a row a reading holds", async () => {
    // dev-gone was last heard from two hours before T0 (a reading received late, say)
    await applyReadings(ing.db, [
      accepted(gone, T0 - 120 * MIN - 1000, { type: "pv", W: -50 }, T0 - 120 * MIN),
    ]);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = ing.db.$transaction(async (tx) => {
      await tx.$queryRawUnsafe("SELECT 1 FROM device_liveness WHERE device_id = 'dev-busy' FOR UPDATE");
      locked();
      await held;
    });
    await isLocked;
    const changes = await sweep(T0 + 6 * MIN);
    release();
    await holder;
    expect(changes.map((c) => c.deviceId)).not.toContain("dev-busy");
    expect(await state("dev-busy")).toBe("active");
    // the first sweep past the stale time: dev-quiet goes stale, dev-gone (silent 2 h) straight to disconnected
    expect(changes).toEqual([
      {
        deviceId: "dev-gone",
        orgId: "org-l",
        from: "active",
        to: "disconnected",
        lastSeenAt: new Date(T0 - 120 * MIN).toISOString(),
      },
      {
        deviceId: "dev-quiet",
        orgId: "org-l",
        from: "active",
        to: "stale",
        lastSeenAt: new Date(T0).toISOString(),
      },
    ]);
    const row = await ing.db.deviceLiveness.findUniqueOrThrow({ where: { deviceId: "dev-quiet" } });
    expect(row).toMatchObject({
      state: "stale",
      lastSeenAt: new Date(T0),
      changedAt: new Date(T0 + 6 * MIN),
    });
  });

  it("a second sweep right after changes nothing but what it skipped before", async () => {
    const changes = await sweep(T0 + 6 * MIN);
    expect(changes).toEqual([
      {
        deviceId: "dev-busy",
        orgId: "org-l",
        from: "active",
        to: "stale",
        lastSeenAt: new Date(T0).toISOString(),
      },
    ]);
    const outbox = await outboxEvents();
    expect(await sweep(T0 + 6 * MIN)).toEqual([]);
    expect(await outboxEvents()).toEqual(outbox);
  });

  it("moves a stale device to disconnected, and a reading brings it back to active", async () => {
    const changes = await sweep(T0 + 61 * MIN);
    expect(changes.map((c) => `${c.deviceId} ${c.from}→${c.to}`)).toEqual([
      "dev-busy stale→disconnected",
      "dev-quiet stale→disconnected",
    ]);
    expect(await state("dev-quiet")).toBe("disconnected");

    const result = await applyReadings(ing.db, [
      accepted(quiet, T0 + 62 * MIN, { type: "pv", W: -80 }, T0 + 62 * MIN + 500),
    ]);
    expect(result.devicesBackActive).toBe(1);
    expect(await state("dev-quiet")).toBe("active");
    expect(await sweep(T0 + 63 * MIN)).toEqual([]);
  });

  it("recorded one event per change, in order, and the relay published them in that order per device", async () => {
    const events = await outboxEvents();
    expect(events.filter((e) => e.startsWith("dev-quiet"))).toEqual([
      "dev-quiet pending→active",
      "dev-quiet active→stale",
      "dev-quiet stale→disconnected",
      "dev-quiet disconnected→active",
    ]);
    expect(events.filter((e) => e.startsWith("dev-gone"))).toEqual([
      "dev-gone pending→active",
      "dev-gone active→disconnected",
    ]);
    expect(events).toHaveLength(9);

    const messages = await readTopic(
      ing.testKafka.kafka,
      `${ing.testKafka.topicPrefix}ingestion.liveness.v1`,
      {
        count: events.length,
      },
    );
    const published = messages.map((m) => {
      const p = JSON.parse(m.value!);
      expect(m.key).toBe(p.deviceId);
      return `${p.deviceId} ${p.from}→${p.to}`;
    });
    for (const device of ["dev-quiet", "dev-gone", "dev-busy"]) {
      expect(published.filter((e) => e.startsWith(device))).toEqual(
        events.filter((e) => e.startsWith(device)),
      );
    }
    const back = messages
      .map((m) => JSON.parse(m.value!))
      .find((p) => p.from === "stale" && p.deviceId === "dev-quiet");
    expect(back).toEqual({
      deviceId: "dev-quiet",
      orgId: "org-l",
      from: "stale",
      to: "disconnected",
      lastSeenAt: new Date(T0).toISOString(),
    });
  });
});
