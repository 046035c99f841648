import { readTopic, waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ingestion, seedSite, startIngestion } from "./helpers.ts";

// A day of a PV inverter reporting every 5 minutes, through the whole path: HTTP → ingestion.telemetry.v1
// → the telemetry store → half-hours in PostgreSQL and interval events on ingestion.interval.v1.
// On the way: a 2-hour gap (no readings 09:05–10:55) and a counter reset right after 13:00.

const GATEWAY = "gw-energy";
const DER = "der-energy-pv";
const DAY = Date.parse("2026-11-22T00:00:00Z");
const at = (hhmm: string) => DAY + (Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3))) * 60_000;
const STEP_MIN = 5;

/** Wh generated in the 5 minutes ending at `minute` of the day: a bell between 06:00 and 18:00. */
const generated = (minute: number) => {
  const h = minute / 60;
  return h <= 6 || h > 18 ? 0 : Math.round(300 * Math.sin((Math.PI * (h - 6)) / 12));
};
/** The true cumulative generation at `minute` (before the reset is taken into account). */
const trueCounter = (minute: number) => {
  let total = 1_000_000;
  for (let m = STEP_MIN; m <= minute; m += STEP_MIN) total += generated(m);
  return total;
};
const RESET_MIN = 13 * 60;
/** What the inverter reports: after 13:00 its counter restarted from 0. */
const reported = (minute: number) =>
  minute <= RESET_MIN ? trueCounter(minute) : trueCounter(minute) - trueCounter(RESET_MIN);
const inGap = (minute: number) => minute > 9 * 60 && minute < 11 * 60;

const minutes = Array.from({ length: 288 }, (_, i) => i * STEP_MIN).filter((m) => !inGap(m));
const item = (minute: number) => ({
  derId: DER,
  reading: {
    type: "pv",
    timestamp: DAY + minute * 60_000,
    W: -Math.round((generated(minute) * 60) / STEP_MIN),
    total_generation_Wh: reported(minute),
  },
});

/** Expected energy of the half-hour starting at `minute`, from the counter. */
function expectedHalfHour(minute: number): number {
  if (minute >= 9 * 60 && minute < 11 * 60) return (trueCounter(11 * 60) - trueCounter(9 * 60)) / 4; // the gap, by time
  return trueCounter(minute + 30) - trueCounter(minute);
}

let ing: Ingestion;

beforeAll(async () => {
  ing = await startIngestion({}, { consumers: true }); // the telemetry store among them
  await seedSite(ing.db, {
    orgId: "org-e",
    siteId: "site-e",
    deviceId: "dev-e",
    gatewayId: GATEWAY,
    ders: { [DER]: "solar" },
  });
});
afterAll(async () => {
  await ing?.close();
});

const post = (items: unknown[]) =>
  ing.app.inject({
    method: "POST",
    url: "/v1/telemetry",
    headers: ing.auth(GATEWAY),
    payload: items as object,
  });

async function intervals() {
  return ing.db.energyInterval.findMany({ where: { derId: DER }, orderBy: { intervalStart: "asc" } });
}

const stored = () => ing.db.reading.count({ where: { derId: DER } });

describe("half-hourly energy from a day of counter readings", () => {
  it("equals the counter difference in every half-hour, across the gap and the reset", async () => {
    for (let i = 0; i < minutes.length; i += 100) {
      const res = await post(minutes.slice(i, i + 100).map(item));
      expect(res.json().accepted).toBe(Math.min(100, minutes.length - i));
    }
    await waitFor("all readings stored", async () => (await stored()) === minutes.length);
    const rows = await waitFor("48 half-hours", async () => {
      const list = await intervals();
      return list.length === 48 ? list : null;
    });
    for (const row of rows) {
      const minute = (row.intervalStart.getTime() - DAY) / 60_000;
      if (minute === RESET_MIN) {
        // the pair 13:00 → 13:05 counts the reported value since the reset: the energy is the same
        expect(row.generationWh).toBeCloseTo(expectedHalfHour(minute), 6);
        continue;
      }
      expect(row.generationWh, `half-hour at ${row.intervalStart.toISOString()}`).toBeCloseTo(
        expectedHalfHour(minute),
        6,
      );
      expect(row.importWh).toBeNull();
    }
    const total = rows.reduce((sum, r) => sum + (r.generationWh ?? 0), 0);
    expect(total).toBeCloseTo(trueCounter(23 * 60 + 55) - trueCounter(0), 6);
    expect(rows.find((r) => r.intervalStart.getTime() === at("12:00"))?.readingCount).toBe(6);
    expect(rows.find((r) => r.intervalStart.getTime() === at("09:30"))?.readingCount).toBe(0);
  });

  it("publishes each complete half-hour once (the last one waits for a reading after its end)", async () => {
    const messages = await readTopic(
      ing.testKafka.kafka,
      `${ing.testKafka.topicPrefix}ingestion.interval.v1`,
      {
        count: 47,
        settleMs: 1_000,
      },
    );
    const computed = messages
      .filter((m) => JSON.parse(m.headers.envelope!).type === "interval.computed")
      .map((m) => JSON.parse(m.value!));
    expect(computed).toHaveLength(47);
    expect(new Set(computed.map((c) => c.intervalStart)).size).toBe(47);
    const noon = computed.find((c) => c.intervalStart === new Date(at("12:00")).toISOString());
    expect(noon).toMatchObject({
      derId: DER,
      deviceId: "dev-e",
      orgId: "org-e",
      derType: "solar",
      readingCount: 6,
    });
    expect(noon.generationWh).toBeCloseTo(expectedHalfHour(12 * 60), 3);
    expect(computed.some((c) => c.intervalStart === new Date(at("23:30")).toISOString())).toBe(false);
  });

  it("counts a batch sent twice once", async () => {
    const before = await intervals();
    const store = ing.runner("telemetry-store");
    const consumed = store.stats().processed;
    const res = await post(minutes.slice(0, 100).map(item));
    expect(res.json().accepted).toBe(100);
    // the store saw them (one message: one DER, one batch) and changed nothing
    await waitFor("the resent batch consumed", () => store.stats().processed > consumed);
    expect(await stored()).toBe(minutes.length);
    expect(await intervals()).toEqual(before);
  });

  it("a late reading corrects its half-hours and publishes the corrections; the day's total stays", async () => {
    const totalBefore = (await intervals()).reduce((sum, r) => sum + (r.generationWh ?? 0), 0);
    const late = { ...item(10 * 60) };
    late.reading.total_generation_Wh = trueCounter(10 * 60);
    expect((await post([late])).json().accepted).toBe(1);
    await waitFor("the late reading stored", async () => (await stored()) === minutes.length + 1);
    const rows = await intervals();
    const byTime = (hhmm: string) => rows.find((r) => r.intervalStart.getTime() === at(hhmm))!;
    const before10 = (trueCounter(600) - trueCounter(540)) / 2;
    const after10 = (trueCounter(660) - trueCounter(600)) / 2;
    expect(byTime("09:00").generationWh).toBeCloseTo(before10, 6);
    expect(byTime("09:30").generationWh).toBeCloseTo(before10, 6);
    expect(byTime("10:00").generationWh).toBeCloseTo(after10, 6);
    expect(byTime("10:30").generationWh).toBeCloseTo(after10, 6);
    expect(byTime("10:00").readingCount).toBe(1);
    expect(byTime("10:00").corrections).toBe(1);
    expect(rows.reduce((sum, r) => sum + (r.generationWh ?? 0), 0)).toBeCloseTo(totalBefore, 6);

    const messages = await readTopic(
      ing.testKafka.kafka,
      `${ing.testKafka.topicPrefix}ingestion.interval.v1`,
      {
        count: 51,
        settleMs: 1_000,
      },
    );
    const corrected = messages
      .filter((m) => JSON.parse(m.headers.envelope!).type === "interval.corrected")
      .map((m) => JSON.parse(m.value!));
    expect(corrected.map((c) => c.intervalStart).sort()).toEqual(
      ["09:00", "09:30", "10:00", "10:30"].map((t) => new Date(at(t)).toISOString()),
    );
    const tenOClock = corrected.find((c) => c.intervalStart === new Date(at("10:00")).toISOString());
    expect(tenOClock.generationWh).toBeCloseTo(after10, 3);
  });
});
