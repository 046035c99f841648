import { createPublicKey, generateKeyPairSync, type KeyObject, randomUUID, sign, verify } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BatteryReading,
  type DerType,
  type EvChargerPortReading,
  type EventPayload,
  type MeterReading,
  type PvReading,
  type TelemetryReading,
  topics,
  validateReading,
} from "@energy/contracts";
import { ingestion } from "@energy/ingestion/service";
import { type Ingestion, seedSite, startIngestion } from "@energy/ingestion/testing";
import { BatchConsumerRunner } from "@energy/kafka";
import { startRegistry } from "@energy/registry/testing";
import {
  clearSkyFraction,
  GatewaySimulator,
  localTime,
  planSite,
  type SimulatedGateway,
  SiteSimulator,
  type SiteStep,
  SOC_MAX,
  SOC_MIN,
  sunElevationSine,
  syntheticGateways,
  type TelemetryItem,
} from "@energy/simulation";
import { createTestKafka, endOffsets, readTopic, waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main, parseDuration } from "../gateway-simulator/main.ts";
import { type ProvisionedGateway, provision } from "../gateway-simulator/provision.ts";
import { run } from "../gateway-simulator/runner.ts";
import { Stats } from "../gateway-simulator/stats.ts";
import { HttpTransport } from "../gateway-simulator/transports/http.ts";
import { KafkaTransport, RAW_TOPIC } from "../gateway-simulator/transports/kafka.ts";
import { retryAfterMs, type Transport, TransportError } from "../gateway-simulator/transports/transport.ts";
import { WsTransport } from "../gateway-simulator/transports/ws.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A whole day of one site, every step kept (also the unreported ones). */
function simulateDay(opts: {
  site: number;
  devices: number;
  day: string;
  intervalMs: number;
  seed?: string;
}) {
  const plan = planSite(opts.seed ?? "test", opts.site, opts.devices);
  const start = Date.parse(`${opts.day}T00:00:00Z`);
  const sim = new SiteSimulator({
    seed: plan.seed,
    profile: plan.profile,
    start,
    intervalMs: opts.intervalMs,
  });
  const steps: SiteStep[] = [];
  while (sim.nextTimestamp < start + DAY) steps.push(sim.next());
  return { plan, steps };
}

function readingsOf(step: SiteStep): TelemetryReading[] {
  const r = step.readings;
  return [...r.pv, r.battery, r.meter, ...(r.evPort ? [r.evPort] : [])];
}

/** Each counter's change from one reading to the next against the power of the first one × dt. */
function counterDeviations(steps: SiteStep[], intervalMs: number) {
  const hours = intervalMs / HOUR;
  const out: { counter: string; at: number; change: number; expected: number }[] = [];
  for (let k = 1; k < steps.length; k++) {
    const a = steps[k - 1]!.readings;
    const b = steps[k]!.readings;
    const at = steps[k]!.timestamp;
    const check = (
      counter: string,
      before: number | null | undefined,
      after: number | null | undefined,
      w: number,
    ) => out.push({ counter, at, change: (after ?? 0) - (before ?? 0), expected: w * hours });
    a.pv.forEach((pv, i) => {
      check(`pv${i}.total_generation_Wh`, pv.total_generation_Wh, b.pv[i]!.total_generation_Wh, -pv.W!);
    });
    const bw = a.battery.W!;
    check("battery.total_charge_Wh", a.battery.total_charge_Wh, b.battery.total_charge_Wh, Math.max(bw, 0));
    check(
      "battery.total_discharge_Wh",
      a.battery.total_discharge_Wh,
      b.battery.total_discharge_Wh,
      Math.max(-bw, 0),
    );
    const mw = a.meter.W!;
    check("meter.total_import_Wh", a.meter.total_import_Wh, b.meter.total_import_Wh, Math.max(mw, 0));
    check("meter.total_export_Wh", a.meter.total_export_Wh, b.meter.total_export_Wh, Math.max(-mw, 0));
    if (a.evPort && b.evPort) {
      check("ev.total_charge_Wh", a.evPort.total_charge_Wh, b.evPort.total_charge_Wh, a.evPort.W!);
      if (a.evPort.session_id != null && a.evPort.session_id === b.evPort.session_id) {
        check("ev.session_charge_Wh", a.evPort.session_charge_Wh, b.evPort.session_charge_Wh, a.evPort.W!);
      }
    }
  }
  return out;
}

describe("curves: a simulated day of a site", () => {
  const scenarios = [
    {
      name: "Lund at midsummer, 1-minute readings, EV charger",
      site: 0,
      devices: 2,
      day: "2025-06-21",
      intervalMs: 60_000,
    },
    {
      name: "Seville at midwinter, 10-second readings, two PV arrays",
      site: 1,
      devices: 2,
      day: "2025-12-21",
      intervalMs: 10_000,
    },
    {
      name: "Munich on the spring DST day, 5-minute readings, EV + two PV",
      site: 2,
      devices: 3,
      day: "2025-03-30",
      intervalMs: 300_000,
    },
    {
      name: "Utrecht in autumn, 15-second readings, inverter only",
      site: 4,
      devices: 1,
      day: "2025-10-14",
      intervalMs: 15_000,
    },
  ];

  describe.each(scenarios)("$name", ({ site, devices, day, intervalMs }) => {
    const { plan, steps } = simulateDay({ site, devices, day, intervalMs });
    const { latitude, longitude, timezone } = plan.location;

    it("covers the day with every reading valid under the telemetry models", () => {
      expect(steps).toHaveLength(DAY / intervalMs);
      const invalid = steps
        .flatMap(readingsOf)
        .map((reading) => ({ reading, result: validateReading(reading) }))
        .filter(({ result }) => !result.ok);
      expect(invalid).toEqual([]);
      expect(steps[0]!.readings.pv).toHaveLength(plan.profile.pvArraysW.length);
      expect(steps[0]!.readings.evPort !== null).toBe(plan.profile.charger !== null);
    });

    it("PV is 0 W while the sun is down and negative (generating) while it is up", () => {
      const night = steps.filter((s) => sunElevationSine(s.timestamp, latitude, longitude) <= 0);
      const day = steps.filter((s) => clearSkyFraction(s.timestamp, latitude, longitude) > 0.05);
      expect(night.length).toBeGreaterThan(0);
      expect(day.length).toBeGreaterThan(0);
      for (const s of night) expect(s.readings.pv.map((pv) => pv.W)).toEqual(s.readings.pv.map(() => 0));
      for (const s of day) for (const pv of s.readings.pv) expect(pv.W).toBeLessThan(0);
      for (const s of steps) {
        s.readings.pv.forEach((pv, i) => {
          expect(-pv.W!).toBeLessThanOrEqual(plan.profile.pvArraysW[i]!);
        });
      }
    });

    it("counters never decrease and match the integrated power within 1 Wh per step", () => {
      const deviations = counterDeviations(steps, intervalMs);
      expect(deviations.length).toBeGreaterThan(0);
      const off = deviations.filter((d) => d.change < 0 || Math.abs(d.change - d.expected) >= 1);
      expect(off).toEqual([]);
    });

    it("the meter is load + EV + battery − PV: it imports when consumption exceeds generation", () => {
      for (const s of steps) {
        const { loadW, evW, generationW } = s.truth;
        expect(s.readings.meter.W).toBe(loadW + evW + s.readings.battery.W! - generationW);
        const m = s.readings.meter;
        expect(m.L1_W! + m.L2_W! + m.L3_W!).toBe(m.W);
        const consumptionOverGeneration = loadW + evW - generationW;
        if (consumptionOverGeneration >= 100) expect(m.W).toBeGreaterThan(0);
        if (consumptionOverGeneration <= -100) expect(m.W).toBeLessThan(0);
      }
      const importing = steps.filter((s) => s.readings.meter.W! > 0).length;
      expect(importing).toBeGreaterThan(0);
    });

    it("the battery keeps its SoC within 0.1..0.95, charges from surplus and discharges into a deficit", () => {
      for (const s of steps) {
        const b = s.readings.battery;
        expect(b.SoC_nom_fract).toBeGreaterThanOrEqual(SOC_MIN);
        expect(b.SoC_nom_fract).toBeLessThanOrEqual(SOC_MAX);
        const balance = s.truth.loadW + s.truth.evW - s.truth.generationW;
        if (b.W! > 0) expect(balance).toBeLessThan(0);
        if (b.W! < 0) expect(balance).toBeGreaterThan(0);
        expect(b.W!).toBeLessThanOrEqual(plan.profile.battery.maxChargeW);
        expect(-b.W!).toBeLessThanOrEqual(plan.profile.battery.maxDischargeW);
      }
      expect(steps.some((s) => s.readings.battery.W !== 0)).toBe(true);
    });

    it("the EV charges only in sessions that start in the evening", () => {
      const ports = steps.map((s) => s.readings.evPort).filter((p): p is EvChargerPortReading => p !== null);
      if (!plan.profile.charger) return expect(ports).toEqual([]);
      for (const p of ports) {
        expect(p.W).toBeGreaterThanOrEqual(0);
        if (p.W! > 0) expect([p.connector_status, p.charging_state]).toEqual(["occupied", "charging"]);
        if (p.session_id == null)
          expect([p.connector_status, p.charging_state, p.W]).toEqual(["available", "idle", 0]);
      }
      const starts = ports.filter(
        (p, k) => p.session_id != null && (k === 0 || ports[k - 1]!.session_id !== p.session_id),
      );
      // a session already running at midnight started the evening before: not seen starting here
      const seenStarting = starts.filter((_, k) => k > 0 || ports[0]!.session_id == null);
      expect(seenStarting.length).toBeGreaterThan(0);
      expect(ports.some((p) => p.W! > 0)).toBe(true);
      for (const p of seenStarting) {
        const { hour } = localTime(timezone, p.timestamp);
        expect(hour).toBeGreaterThanOrEqual(17);
        expect(hour).toBeLessThanOrEqual(20.6);
      }
    });
  });
});

describe("curves: determinism, faults and restarts", () => {
  const plan = planSite("test", 0, 2);
  const start = Date.parse("2025-06-21T00:00:00Z");
  const intervalMs = 30_000;
  const runOf = (seed: string, faults = {}, steps = 2880) => {
    const sim = new SiteSimulator({ seed, profile: plan.profile, start, intervalMs, faults });
    return Array.from({ length: steps }, () => sim.next());
  };

  it("the same seed gives the same readings; another seed other ones", () => {
    expect(runOf(plan.seed)).toEqual(runOf(plan.seed));
    const other = runOf("another seed");
    expect(other.map((s) => s.readings.meter.W)).not.toEqual(runOf(plan.seed).map((s) => s.readings.meter.W));
  });

  it("PV at a timestamp does not depend on the interval", () => {
    const fine = new SiteSimulator({ seed: plan.seed, profile: plan.profile, start, intervalMs: 10_000 });
    const coarse = new SiteSimulator({ seed: plan.seed, profile: plan.profile, start, intervalMs: 60_000 });
    for (let k = 0; k < 1440; k++) {
      const c = coarse.next();
      let f = fine.next();
      while (f.timestamp < c.timestamp) f = fine.next();
      expect(f.readings.pv[0]!.W).toBe(c.readings.pv[0]!.W);
    }
  });

  it("an injected counter reset is the one time counters go down", () => {
    const resetAt = start + 13 * HOUR;
    const steps = runOf(plan.seed, { counterResetAt: resetAt });
    const down = counterDeviations(steps, intervalMs).filter((d) => d.change < 0);
    expect(new Set(down.map((d) => d.at))).toEqual(new Set([resetAt]));
    const reset = steps.find((s) => s.timestamp === resetAt)!;
    expect(reset.readings.pv[0]!.total_generation_Wh).toBe(0);
    expect(reset.readings.meter.total_import_Wh).toBe(0);
    const after = counterDeviations(
      steps.filter((s) => s.timestamp >= resetAt),
      intervalMs,
    );
    expect(after.filter((d) => d.change < 0 || Math.abs(d.change - d.expected) >= 1)).toEqual([]);
  });

  it("an injected gap hides readings; the counters after it carry the energy of the gap", () => {
    const gap = { from: start + 10 * HOUR, to: start + 11 * HOUR };
    const steps = runOf(plan.seed, { gap });
    const hidden = steps.filter((s) => !s.reported);
    expect(hidden.map((s) => s.timestamp)).toEqual(
      steps.filter((s) => s.timestamp >= gap.from && s.timestamp < gap.to).map((s) => s.timestamp),
    );
    expect(hidden).toHaveLength(HOUR / intervalMs);
    const before = steps.findLast((s) => s.timestamp < gap.from)!;
    const after = steps.find((s) => s.timestamp === gap.to)!;
    const produced = [before, ...hidden].reduce(
      (wh, s) => wh + (-s.readings.pv[0]!.W! * intervalMs) / HOUR,
      0,
    );
    const counted = after.readings.pv[0]!.total_generation_Wh! - before.readings.pv[0]!.total_generation_Wh!;
    expect(produced).toBeGreaterThan(1000);
    expect(Math.abs(counted - produced)).toBeLessThan(1);

    const gw = syntheticGateways(1, 2, "test")[0]!;
    const sim = new GatewaySimulator(gw, { start, intervalMs, faults: { gap } });
    const sent = Array.from({ length: 2880 }, () => sim.next()).filter((tick) => tick.items.length > 0);
    expect(sent.some((tick) => tick.timestamp >= gap.from && tick.timestamp < gap.to)).toBe(false);
    expect(sent).toHaveLength(2880 - HOUR / intervalMs);
  });

  it("a site resumed from its snapshot goes on exactly like one that never stopped", () => {
    const whole = runOf(plan.seed);
    const first = new SiteSimulator({ seed: plan.seed, profile: plan.profile, start, intervalMs });
    for (let k = 0; k < 1000; k++) first.next();
    const state = JSON.parse(JSON.stringify(first.snapshot()));
    const resumed = new SiteSimulator({
      seed: plan.seed,
      profile: plan.profile,
      start: 0,
      intervalMs,
      state,
    });
    expect(Array.from({ length: 1880 }, () => resumed.next())).toEqual(whole.slice(1000));
  });

  it("fast-forwarding over a day keeps counters consistent with the power", () => {
    const sim = new SiteSimulator({ seed: plan.seed, profile: plan.profile, start, intervalMs });
    const before = sim.next().readings;
    sim.fastForward(start + 3 * DAY);
    const after = sim.next();
    expect(after.timestamp).toBe(start + 3 * DAY);
    const generated = after.readings.pv[0]!.total_generation_Wh! - before.pv[0]!.total_generation_Wh!;
    // three June days of a 4–10 kWp array in Lund: tens of kWh, never less than nothing
    expect(generated).toBeGreaterThan(10_000);
    expect(after.readings.battery.SoC_nom_fract).toBeGreaterThanOrEqual(SOC_MIN);
  });
});

describe("site plans and items", () => {
  it.each([
    [0, 1, ["inverter"], ["solar", "battery", "meter"]],
    [0, 2, ["inverter", "ev_charger"], ["solar", "battery", "meter", "ev_charger_port"]],
    [1, 2, ["inverter", "inverter"], ["solar", "battery", "meter", "solar"]],
    [
      2,
      4,
      ["inverter", "ev_charger", "inverter", "inverter"],
      ["solar", "battery", "meter", "ev_charger_port", "solar", "solar"],
    ],
  ])("gateway %i with %i devices: %j", (index, devices, types, derTypes) => {
    const plan = planSite("test", index, devices);
    expect(plan.devices.map((d) => d.type)).toEqual(types);
    expect(plan.devices.flatMap((d) => d.ders.map((der) => der.derType))).toEqual(derTypes);
    expect(new Set(plan.devices.map((d) => d.key)).size).toBe(devices);
  });

  it("each timestamp gives one item per DER, with the DER's id", () => {
    const [gw] = syntheticGateways(1, 3, "test");
    const sim = new GatewaySimulator(gw!, { start: Date.parse("2025-06-21T12:00:00Z"), intervalMs: 10_000 });
    const tick = sim.next();
    expect(tick.items.map((i) => [i.derId, i.reading.type])).toEqual([
      ["der-sim-0-pv0", "pv"],
      ["der-sim-0-pv1", "pv"],
      ["der-sim-0-battery", "battery"],
      ["der-sim-0-meter", "meter"],
      ["der-sim-0-ev", "ev_charger_port"],
    ]);
    const batch = sim.take(tick.timestamp + 3_600_000, 12)!;
    expect(batch.items).toHaveLength(15); // whole timestamps: 3 × 5 items
    expect(batch.to - batch.from).toBe(20_000);
  });

  it("reads durations the way the CLI is given them", () => {
    expect([parseDuration("500ms", "x"), parseDuration("10s", "x"), parseDuration("5m", "x")]).toEqual([
      500, 10_000, 300_000,
    ]);
    expect([parseDuration("2h", "x"), parseDuration("1.5", "x")]).toEqual([7_200_000, 1_500]);
    expect(() => parseDuration("ten", "interval")).toThrow(/--interval must be a duration/);
  });
});

// --- against the real ingestion service (in-process: its own database and topic prefix, on a real port) -----

type AcceptedMessage = EventPayload<typeof topics.ingestionTelemetry, "readings.accepted">;

/** A gateway's devices and DERs in ingestion's registry projection, as the registry's events leave them. */
async function seedGateway(ing: Ingestion, gw: SimulatedGateway, orgId = "org-sim") {
  for (const device of gw.plan.devices) {
    await seedSite(ing.db, {
      orgId,
      siteId: `site-${gw.gatewayId}`,
      deviceId: `dev-${gw.gatewayId}-${device.key}`,
      gatewayId: gw.gatewayId,
      deviceType: device.type,
      ders: Object.fromEntries(device.ders.map((der) => [gw.derIds[der.key]!, der.derType])),
    });
  }
}

/**
 * Ingestion as its server.ts runs it (@energy/ingestion/testing), listening on a port of its own, with
 * `gateways` registered in its projection (each of a gateway's devices served by that gateway). `accepted`
 * collects every message of ingestion.telemetry.v1 (one per DER of each accepted batch): what ingestion
 * took, as the rest of the platform sees it.
 */
async function startRealIngestion(gateways: SimulatedGateway[], env: Record<string, string> = {}) {
  const ing = await startIngestion(env);
  for (const gw of gateways) await seedGateway(ing, gw);
  const url = await ing.app.listen({ port: 0, host: "127.0.0.1" });
  const topic = `${ing.testKafka.topicPrefix}${topics.ingestionTelemetry.name}`;
  const accepted: AcceptedMessage[] = [];
  const read = new Map<number, number>();
  const admin = ing.testKafka.kafka.admin();
  await admin.connect();
  const tap = ing.testKafka.kafka.consumer({ groupId: `tap-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await tap.connect();
  await tap.subscribe({ topic, fromBeginning: true });
  await tap.run({
    eachMessage: async ({ message, partition }) => {
      accepted.push(JSON.parse(message.value!.toString()) as AcceptedMessage);
      read.set(partition, Number(message.offset) + 1);
    },
  });
  return {
    ing,
    url,
    accepted,
    /** The readings of accepted[from..to) as items, in the order read (per DER: the order ingestion took them). */
    items: (from = 0, to = accepted.length): TelemetryItem[] =>
      accepted.slice(from, to).flatMap((m) => m.readings.map((reading) => ({ derId: m.derId, reading }))),
    /** Resolves once the tap has read everything on the topic now (every answer so far is then in `accepted`). */
    async settled() {
      const ends = await endOffsets(admin, topic);
      await waitFor("the telemetry topic read to its end", () =>
        [...ends].every(([partition, end]) => (read.get(partition) ?? 0) >= end),
      );
    },
    /** How many requests of `method route` ingestion answered with `status` (its request metrics). */
    async answered(method: string, route: string, status: number) {
      const metrics = await ing.app.inject({ method: "GET", url: "/metrics" });
      const labels = [`method="${method}"`, `route="${route}"`, `status_code="${status}"`];
      const line = metrics.body
        .split("\n")
        .find(
          (l) => l.startsWith("http_request_duration_seconds_count{") && labels.every((x) => l.includes(x)),
        );
      return line ? Number(line.split(" ").at(-1)) : 0;
    },
    async close() {
      await tap.disconnect();
      await admin.disconnect();
      await ing.close();
    },
  };
}
type RealIngestion = Awaited<ReturnType<typeof startRealIngestion>>;

/** `items` sorted by DER and time, to compare what was sent with what ingestion published. */
const sorted = (items: TelemetryItem[]) =>
  items.toSorted((a, b) => a.derId.localeCompare(b.derId) || a.reading.timestamp - b.reading.timestamp);

/** Waits until every one of `items` is among ingestion's accepted readings; returns those that are them. */
async function published(real: RealIngestion, items: TelemetryItem[]) {
  const key = (i: TelemetryItem) => `${i.derId}@${i.reading.timestamp}`;
  const wanted = new Set(items.map(key));
  return waitFor(`${wanted.size} readings on ingestion.telemetry.v1`, () => {
    const found = real.items().filter((i) => wanted.has(key(i)));
    return new Set(found.map(key)).size === wanted.size ? found : null;
  });
}

/** A gateway token signed as the registry signs them (ES256), expired five minutes ago. */
function expiredToken(ing: Ingestion, gatewayId: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    typ: "gateway",
    sub: gatewayId,
    iss: ing.config.JWT_ISSUER,
    aud: ing.config.JWT_AUDIENCE,
    iat: now - 600,
    exp: now - 300,
  };
  const signed = `${part({ alg: "ES256", typ: "JWT" })}.${part(claims)}`;
  const signature = sign("sha256", Buffer.from(signed), {
    key: ing.jwtKeys.privateKey,
    dsaEncoding: "ieee-p1363",
  });
  return `${signed}.${signature.toString("base64url")}`;
}

/**
 * A transport that keeps what the simulator did through it: every send with its time, its readings' times
 * and how it ended (a slow-down with its Retry-After), and how many batches were unanswered at once.
 */
function recording(inner: Transport) {
  const log: { at: number; times: number[]; retryAfterMs?: number; ok: boolean }[] = [];
  const state = { inFlight: 0, maxInFlight: 0, log };
  const transport: Transport = {
    name: inner.name,
    async send(gateway, items) {
      const times = [...new Set(items.map((i) => i.reading.timestamp))];
      const entry: (typeof log)[number] = { at: Date.now(), times, ok: false };
      log.push(entry);
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      try {
        const result = await inner.send(gateway, items);
        entry.ok = true;
        return result;
      } catch (error) {
        if (error instanceof TransportError && error.retryAfterMs !== undefined)
          entry.retryAfterMs = error.retryAfterMs;
        throw error;
      } finally {
        state.inFlight--;
      }
    },
    close: () => inner.close(),
  };
  return { transport, state };
}

describe("transports against the real ingestion service", () => {
  const [gw, other] = syntheticGateways(2, 2, "test");
  let real: RealIngestion;
  beforeAll(async () => {
    // at most 100 readings a batch here, so that a batch ingestion refuses as a whole is easy to make
    real = await startRealIngestion([gw!, other!], { BATCH_MAX_READINGS: "100" });
  });
  afterAll(async () => real?.close());

  const token = (gatewayId = gw!.gatewayId) => real.ing.tokenFor(gatewayId);
  const link = (first?: string) => ({
    ...gw!,
    token: async () => first ?? token(),
    renewToken: async () => token(),
  });
  /** A minute of readings of the gateway (28 items), `hour` hours after noon of midsummer 2025. */
  const tick = (hour: number) => {
    const start = Date.parse("2025-06-21T12:00:00Z") + hour * HOUR;
    return new GatewaySimulator(gw!, { start, intervalMs: 10_000 }).take(start + 60_000, 1000)!.items;
  };

  it.each([
    ["a JSON array", { format: "json" as const, gzip: false }, { "content-type": "application/json" }],
    ["NDJSON", { format: "ndjson" as const, gzip: false }, { "content-type": "application/x-ndjson" }],
    [
      "gzip-compressed JSON",
      { format: "json" as const, gzip: true },
      { "content-type": "application/json", "content-encoding": "gzip" },
    ],
  ])("HTTP posts %s and counts what ingestion accepted", async (name, options, headers) => {
    const transport = new HttpTransport({ ingestionUrl: real.url, ...options });
    const items = tick(["a JSON array", "NDJSON", "gzip-compressed JSON"].indexOf(name));
    expect(transport.encode(items).headers).toEqual(headers);
    const result = await transport.send(link(), items);
    expect(result).toMatchObject({ accepted: items.length, rejected: [] });
    // ingestion read the body as sent and published every reading, each once, as this gateway's
    const onKafka = await published(real, items);
    expect(sorted(onKafka)).toEqual(sorted(items));
    const derIds = new Set(items.map((i) => i.derId));
    const messages = real.accepted.filter((m) => derIds.has(m.derId));
    expect(new Set(messages.map((m) => m.gatewayId))).toEqual(new Set([gw!.gatewayId]));
  });

  it("HTTP logs in again when ingestion refuses the token, and sends the batch once", async () => {
    const transport = new HttpTransport({ ingestionUrl: real.url });
    const before = {
      refused: await real.answered("POST", "/v1/telemetry", 401),
      taken: await real.answered("POST", "/v1/telemetry", 200),
    };
    const items = tick(4);
    const result = await transport.send(link(expiredToken(real.ing, gw!.gatewayId)), items);
    expect(result).toMatchObject({ accepted: items.length, rejected: [] });
    await waitFor(
      "the answer counted",
      async () => (await real.answered("POST", "/v1/telemetry", 200)) > before.taken,
    );
    expect(await real.answered("POST", "/v1/telemetry", 401)).toBe(before.refused + 1);
    expect(await real.answered("POST", "/v1/telemetry", 200)).toBe(before.taken + 1);
    expect(sorted(await published(real, items))).toEqual(sorted(items));
  });

  it("HTTP reports the items ingestion refused, by index and field, also a DER the gateway does not serve", async () => {
    const transport = new HttpTransport({ ingestionUrl: real.url });
    const items = tick(5);
    const pv = items.find((i) => i.reading.type === "pv")!;
    const battery = items.find((i) => i.reading.type === "battery")!;
    const generating = { ...pv, reading: { ...pv.reading, W: 500 } as PvReading };
    const othersDer = { derId: other!.derIds.pv0!, reading: pv.reading };
    const unknownDer = { derId: "der-nobody-knows", reading: pv.reading };
    const result = await transport.send(link(), [battery, generating, othersDer, unknownDer]);
    expect(result.accepted).toBe(1);
    expect(result.rejected).toEqual([
      { index: 1, reasons: [expect.objectContaining({ field: "reading.W" })] },
      {
        index: 2,
        reasons: [
          {
            field: "derId",
            message: expect.stringContaining(
              `gateway ${gw!.gatewayId} does not serve device dev-${other!.gatewayId}-inverter`,
            ),
          },
        ],
      },
      {
        index: 3,
        reasons: [{ field: "derId", message: expect.stringContaining("is not a registered DER") }],
      },
    ]);
    // the simulator reports each refusal with ingestion's reason
    const stats = new Stats();
    stats.acknowledged(result);
    expect(stats.totals).toMatchObject({ accepted: 1, rejected: 3 });
    expect([...stats.reasons.keys()]).toEqual(
      result.rejected.map((r) => `rejected: ${r.reasons[0]!.field}: ${r.reasons[0]!.message}`),
    );
    // ingestion kept the refusal of the other gateway's DER, as this gateway's
    const kept = await real.ing.db.rejectedReading.findMany({ where: { derId: other!.derIds.pv0! } });
    expect(kept.map((r) => [r.gatewayId, r.channel])).toEqual([[gw!.gatewayId, "http"]]);
    expect(sorted(await published(real, [battery]))).toEqual([battery]);
  });

  it("WebSocket: a frame ingestion cannot take is answered with an error: that batch fails, is not sent again, and the stream goes on", async () => {
    const ws = new WsTransport({ ingestionUrl: real.url });
    const otherLink = { ...other!, token: async () => token(other!.gatewayId) };
    try {
      // an empty batch: invalid_batch
      await expect(ws.send(otherLink, [])).rejects.toMatchObject({
        retriable: false,
        message: expect.stringMatching(/refused: invalid_batch: the batch has no items/),
      });
      // through the runner: batches of 120 readings, more than this ingestion takes (100): batch_too_large
      const { transport, state } = recording(ws);
      const stats = new Stats();
      const intervalMs = 10_000;
      const now = Date.now();
      const start = Math.floor((now - 30 * 60_000) / intervalMs) * intervalMs;
      await run({
        gateways: [otherLink],
        transport,
        intervalMs,
        start,
        until: now + 500,
        window: 2,
        batchItems: 120,
        stats,
        signal: new AbortController().signal,
        retries: 3,
      });
      // 181 or 182 timestamps of four DERs: six batches of 120 refused, the rest (4 or 8) taken
      const tooLarge = [...stats.reasons].filter(([reason]) => reason.includes("refused: batch_too_large"));
      // (each reason names its batch)
      expect(tooLarge.map(([, count]) => count)).toEqual([1, 1, 1, 1, 1, 1]);
      for (const [reason] of tooLarge)
        expect(reason).toContain("the batch has 120 items; at most 100 are accepted at once");
      expect(stats.totals).toMatchObject({ failed: 720, rejected: 0 });
      expect(stats.totals.accepted).toBe(stats.totals.sent - 720);
      expect(stats.totals.accepted).toBeGreaterThan(0);
      // each batch was sent once: a refused frame is not retriable, and the socket stayed open for the next
      expect(state.log).toHaveLength(stats.totals.batches);
      expect(state.log.filter((s) => s.ok)).toHaveLength(stats.totals.batches - 6);
    } finally {
      await ws.close();
    }
  });

  it("WebSocket: a backfill streams in order with several batches in flight, latency measured", async () => {
    const stats = new Stats();
    const { transport, state } = recording(new WsTransport({ ingestionUrl: real.url }));
    const intervalMs = 10_000;
    const now = Date.now();
    const start = Math.floor((now - 30 * 60_000) / intervalMs) * intervalMs;
    await run({
      gateways: [link(expiredToken(real.ing, gw!.gatewayId))],
      transport,
      intervalMs,
      start,
      until: now + 1_500,
      window: 4,
      batchItems: 40,
      stats,
      signal: new AbortController().signal,
    });
    await transport.close();
    await real.settled();
    const items = real
      .items()
      .filter((i) => Object.values(gw!.derIds).includes(i.derId) && i.reading.timestamp >= start);
    expect(stats.totals).toMatchObject({
      sent: items.length,
      accepted: items.length,
      rejected: 0,
      failed: 0,
    });
    expect(items.length).toBeGreaterThanOrEqual(180 * 4); // 30 min at 10 s, four DERs
    expect(state.maxInFlight).toBe(4);
    const line = stats.line();
    const [, p50, p99] = /ack p50 ([\d.]+) ms p99 ([\d.]+) ms/.exec(line) ?? [];
    expect(Number(p50)).toBeGreaterThan(0);
    expect(Number(p99)).toBeGreaterThanOrEqual(Number(p50));
    // sent in order: batch after batch, timestamp after timestamp from the start
    const sentTimes = state.log.flatMap((s) => s.times);
    expect(sentTimes).toEqual(sentTimes.map((_, k) => start + k * intervalMs));
    // every DER's readings as ingestion took them (frames in flight together may be published in either
    // order): consecutive timestamps from the start, no hole and no repeat
    for (const derId of Object.values(gw!.derIds)) {
      const times = items.filter((i) => i.derId === derId).map((i) => i.reading.timestamp);
      expect(times.toSorted((a, b) => a - b)).toEqual(sentTimes);
    }
  });
});

describe("a gateway slowed by the real ingestion (its telemetry store is behind)", () => {
  const [gw] = syntheticGateways(1, 2, "test");

  /**
   * Ingestion whose telemetry store is not running (as after a crash), with gateways slowed from 0.5 s of
   * store lag on: one reading the store does not apply makes the lag grow. `startStore` starts the store
   * of ingestion's declaration, in the group its lag monitor watches, and it catches up.
   */
  async function behind() {
    const real = await startRealIngestion([gw!], { STORE_LAG_MAX_SECONDS: "1" });
    const lag = real.ing.ctx.storeLag; // the service's own monitor (its "store lag monitor" job is off in tests)
    lag.start();
    const group = ingestion.consumers!.find((g) => g.group === "telemetry-store")!;
    if (!group.batch) throw new Error("the telemetry store is a batch consumer group");
    const store = new BatchConsumerRunner({
      kafka: real.ing.kafka,
      producer: real.ing.producer,
      groupId: `ingestion.${group.group}`,
      topicPrefix: real.ing.testKafka.topicPrefix,
      context: real.ing.ctx,
      ...group.batch,
      subscriptions: group.subscriptions,
    });
    const old = { derId: gw!.derIds.pv0!, reading: { type: "pv", timestamp: Date.now() - 2 * DAY, W: -5 } };
    const first = await real.ing.app.inject({
      method: "POST",
      url: "/v1/telemetry",
      headers: real.ing.auth(gw!.gatewayId),
      payload: [old],
    });
    expect(first.statusCode, first.body).toBe(200);
    await waitFor("the store lag past half the bound", () => lag.lagMs() > 500, { timeoutMs: 10_000 });
    return {
      real,
      lag,
      link: { ...gw!, token: async () => real.ing.tokenFor(gw!.gatewayId) },
      startStore: () => store.start(),
      async close() {
        await store.stop();
        await lag.stop();
        await real.close();
      },
    };
  }

  it("HTTP: waits as long as Retry-After says, as often as asked, then delivers every reading once", async () => {
    const slow = await behind();
    try {
      const stats = new Stats();
      const { transport, state } = recording(new HttpTransport({ ingestionUrl: slow.real.url }));
      const intervalMs = 10_000;
      const now = Date.now();
      const start = Math.floor((now - 5 * 60_000) / intervalMs) * intervalMs;
      // more slow-downs (at least 2) than retries of other failures (1): a slow-down is not a failure
      const running = run({
        gateways: [slow.link],
        transport,
        intervalMs,
        start,
        until: now + 200,
        window: 1,
        batchItems: 1_000,
        stats,
        signal: new AbortController().signal,
        retries: 1,
        graceMs: 40_000,
      });
      await waitFor("two slow-downs", () => stats.totals.slowed >= 2, { timeoutMs: 20_000 });
      await slow.startStore(); // the store catches up, and the gateway goes on by itself
      await running;
      const slowed = state.log.filter((s) => s.retryAfterMs !== undefined);
      expect(slowed.length).toBeGreaterThanOrEqual(2);
      expect(stats.totals).toMatchObject({ failed: 0, slowed: slowed.length });
      // each resend came as long after its 503 as its Retry-After said, not at once nor with a failure's backoff
      state.log.forEach((attempt, k) => {
        if (attempt.retryAfterMs === undefined || k + 1 === state.log.length) return;
        expect(attempt.retryAfterMs).toBeGreaterThanOrEqual(1_000);
        const waited = state.log[k + 1]!.at - attempt.at;
        expect(waited).toBeGreaterThanOrEqual(attempt.retryAfterMs - 10);
        expect(waited).toBeLessThan(attempt.retryAfterMs + 900);
      });
      expect(state.log.at(-1)!.ok).toBe(true);
      await slow.real.settled();
      const items = slow.real.items().filter((i) => i.reading.timestamp >= start);
      expect(stats.totals.accepted).toBe(items.length);
      expect(new Set(items.map((i) => `${i.derId}@${i.reading.timestamp}`)).size).toBe(items.length);
      expect(items.length).toBeGreaterThanOrEqual(30 * 4); // 5 minutes at 10 s, four DERs
    } finally {
      await slow.close();
    }
  });

  it("reads Retry-After in seconds or as an HTTP date", () => {
    const now = Date.parse("2026-12-01T12:00:00Z");
    expect(retryAfterMs("2", now)).toBe(2_000);
    expect(retryAfterMs("Tue, 01 Dec 2026 12:00:03 GMT", now)).toBe(3_000);
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs("soon", now)).toBeUndefined();
  });

  it("WebSocket: held answers hold the gateway back (its window), and none is lost", async () => {
    const slow = await behind();
    try {
      const stats = new Stats();
      const { transport, state } = recording(new WsTransport({ ingestionUrl: slow.real.url }));
      const intervalMs = 10_000;
      const start = Math.floor((Date.now() - 30 * 60_000) / intervalMs) * intervalMs;
      const controller = new AbortController();
      const running = run({
        gateways: [slow.link],
        transport,
        intervalMs,
        start,
        window: 2,
        batchItems: 20,
        stats,
        signal: controller.signal,
      });
      // ingestion holds the answers while its store is behind: two frames in flight, and the gateway waits
      await waitFor("two frames in flight", () => state.inFlight === 2);
      const lagAtHold = slow.lag.lagMs();
      await waitFor("the store a second further behind", () => slow.lag.lagMs() >= lagAtHold + 1_000, {
        timeoutMs: 10_000,
      });
      expect(state.log).toHaveLength(2);
      expect(stats.totals.batches).toBe(0);
      await slow.startStore();
      // caught up: every reading up to the clock answered
      await waitFor(
        "the backfill answered",
        () =>
          stats.totals.batches > 2 &&
          stats.totals.accepted === stats.totals.sent &&
          stats.newestReading >= Date.now() - 2 * intervalMs,
        { timeoutMs: 30_000 },
      );
      controller.abort();
      await running;
      await transport.close();
      expect(state.maxInFlight).toBe(2);
      expect(stats.totals).toMatchObject({ failed: 0, rejected: 0 });
      // the two held frames waited at least the second measured above
      expect(Number(/p99 (\d+) ms/.exec(stats.line())?.[1])).toBeGreaterThanOrEqual(1_000);
      await slow.real.settled();
      const items = slow.real.items().filter((i) => i.reading.timestamp >= start);
      expect(stats.totals.accepted).toBe(items.length);
      // each frame sent once (none was answered late enough to be sent again), in order; every reading of
      // every DER taken once
      const sentTimes = state.log.flatMap((s) => s.times);
      expect(sentTimes.length).toBeGreaterThanOrEqual(180);
      expect(sentTimes).toEqual(sentTimes.map((_, k) => start + k * intervalMs));
      for (const derId of Object.values(gw!.derIds)) {
        const times = items.filter((i) => i.derId === derId).map((i) => i.reading.timestamp);
        expect(times.toSorted((a, b) => a - b)).toEqual(sentTimes);
      }
    } finally {
      await slow.close();
    }
  });
});

describe("the Kafka bridge on the real broker", () => {
  it("publishes batch.received keyed by gateway, the body signed with the gateway's key", async () => {
    const testKafka = await createTestKafka({ topics: [RAW_TOPIC] });
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const [gw] = syntheticGateways(1, 2, "test");
    const sim = new GatewaySimulator(gw!, { start: Date.parse("2025-06-21T12:00:00Z"), intervalMs: 10_000 });
    const batches = [
      sim.take(sim.nextTimestamp + 20_000, 100)!.items,
      sim.take(sim.nextTimestamp, 100)!.items,
    ];
    const transport = new KafkaTransport({ brokers: testKafka.brokers, topicPrefix: testKafka.topicPrefix });
    try {
      for (const items of batches) {
        expect(await transport.send({ gatewayId: gw!.gatewayId, privateKey }, items)).toMatchObject({
          accepted: items.length,
          rejected: [],
        });
      }
    } finally {
      await transport.close();
    }
    const messages = await readTopic(testKafka.kafka, `${testKafka.topicPrefix}${RAW_TOPIC}`, { count: 2 });
    expect(messages).toHaveLength(2);
    messages.forEach((message, k) => {
      expect(message.key).toBe(gw!.gatewayId);
      expect(JSON.parse(message.headers.envelope!)).toMatchObject({
        type: "batch.received",
        source: "ingestion",
      });
      const payload = JSON.parse(message.value!) as {
        gatewayId: string;
        signature: string;
        body: string;
        receivedAt: string;
      };
      expect(payload.gatewayId).toBe(gw!.gatewayId);
      expect(JSON.parse(payload.body)).toEqual(batches[k]);
      expect(Number.isNaN(Date.parse(payload.receivedAt))).toBe(false);
      const signature = Buffer.from(payload.signature, "base64url");
      expect(signature).toHaveLength(64);
      const data = Buffer.from(payload.body, "utf8");
      expect(verify("sha256", data, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature)).toBe(true);
      expect(
        verify(
          "sha256",
          Buffer.from(`${payload.body} `),
          { key: publicKey, dsaEncoding: "ieee-p1363" },
          signature,
        ),
      ).toBe(false);
    });
  });
});

// --- against a real registry and the real ingestion (in-process, each its own database) --------------------

/** Verifies a registry access token (ES256 JWT) and returns its subject and type. */
function verifyJwt(token: string, publicKeyPem: string): { sub: string; typ: string } | null {
  const [header, payload, signature] = token.split(".");
  if (!header || !payload || !signature) return null;
  const ok = verify(
    "sha256",
    Buffer.from(`${header}.${payload}`),
    { key: createPublicKey(publicKeyPem), dsaEncoding: "ieee-p1363" },
    Buffer.from(signature, "base64url"),
  );
  if (!ok) return null;
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as {
    sub: string;
    typ: string;
    exp: number;
  };
  return claims.exp * 1000 > Date.now() ? claims : null;
}

describe("provisioning in a real registry, and the CLI end to end", () => {
  let r: Awaited<ReturnType<typeof startRegistry>>;
  let registryUrl: string;
  let ingestionReal: RealIngestion;
  let dataDir: string;
  let operator: { identityId: string; privateKey: KeyObject; orgId: string };
  let keyFile: string;

  beforeAll(async () => {
    r = await startRegistry();
    registryUrl = await r.app.listen({ port: 0, host: "127.0.0.1" });
    dataDir = mkdtempSync(join(tmpdir(), "simulator-"));
    const keys = generateKeyPairSync("ed25519");
    keyFile = join(dataDir, "operator.key");
    writeFileSync(keyFile, keys.privateKey.export({ type: "pkcs8", format: "pem" }));
    const root = { authorization: `Bearer ${r.tokenFor("root", "root")}` };
    const user = await r.app.inject({
      method: "POST",
      url: "/identities",
      headers: root,
      payload: {
        type: "user",
        name: "Operator",
        publicKey: keys.publicKey.export({ type: "spki", format: "pem" }),
      },
    });
    expect(user.statusCode).toBe(201);
    const org = await r.app.inject({
      method: "POST",
      url: "/organizations",
      headers: r.auth(user.json().id),
      payload: { name: "Simulated Co-op", kind: "developer" },
    });
    expect(org.statusCode).toBe(201);
    operator = { identityId: user.json().id, privateKey: keys.privateKey, orgId: org.json().id };
    // ingestion checks the tokens this registry issues (its public key), as on the platform
    ingestionReal = await startRealIngestion([], { JWT_PUBLIC_KEY: r.config.JWT_PUBLIC_KEY });
  });
  afterAll(async () => {
    await ingestionReal?.close();
    await r?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const provisionOnce = () =>
    provision({ registryUrl, dataDir, gateways: 2, devices: 3, seed: "test", operator });

  it("registers each gateway, claims it for a site and adds the plan's devices and DERs through it", async () => {
    const first = await provisionOnce();
    expect(first).toHaveLength(2);
    for (const g of first) {
      const identity = await r.db.identity.findUnique({ where: { id: g.gatewayId } });
      expect(identity?.type).toBe("gateway");
      const claim = await r.db.gatewayClaim.findUnique({ where: { gatewayId: g.gatewayId } });
      expect(claim).toMatchObject({ orgId: operator.orgId, siteId: g.siteId });
      const devices = await r.db.device.findMany({ where: { siteId: g.siteId }, include: { ders: true } });
      expect(devices.map((d) => d.commIdentityId)).toEqual(devices.map(() => g.gatewayId));
      expect(devices.map((d) => d.type).sort()).toEqual(g.plan.devices.map((d) => d.type).sort());
      const derIds = devices.flatMap((d) => d.ders.map((der) => der.id)).sort();
      expect(Object.values(g.derIds).sort()).toEqual(derIds);
      // the gateway logs in with its own key: a token the registry signed, for the gateway
      expect(verifyJwt(await g.tokens.token(), r.config.JWT_PUBLIC_KEY)).toMatchObject({
        sub: g.gatewayId,
        typ: "gateway",
      });
    }
    expect(first[0]!.plan.devices.map((d) => d.type)).toEqual(["inverter", "ev_charger", "inverter"]);
  });

  it("finds everything again when run again: same ids, nothing added", async () => {
    const before = await provisionOnce(); // the first run, or one again if the test above ran
    const devicesBefore = await r.db.device.count();
    const again = await provisionOnce();
    const ids = (gs: ProvisionedGateway[]) => gs.map((g) => [g.gatewayId, g.siteId, g.derIds]);
    expect(ids(again)).toEqual(ids(before));
    expect(await r.db.device.count()).toBe(devicesBefore);
  });

  it("the CLI provisions and streams every DER's readings as its gateway; a restart continues the counters", async () => {
    const flags = (options: Record<string, string>) =>
      Object.entries(options).flatMap(([k, v]) => [`--${k}`, v]);
    const cli = (transport: string) =>
      main(
        flags({
          gateways: "2",
          devices: "3",
          interval: "1s",
          transport,
          seed: "test",
          backfill: "5m",
          duration: "2s",
          "registry-url": registryUrl,
          "ingestion-url": ingestionReal.url,
          "data-dir": dataDir,
          org: operator.orgId,
          operator: operator.identityId,
          "operator-key": keyFile,
        }),
      );
    // Ingestion learns the registry's devices from its events; here its projection is written from the
    // registry's tables, as ingestion's tests seed it: every device served by the gateway that is its comm identity.
    await provisionOnce(); // what the CLI will find (the same ids)
    const ders = await r.db.der.findMany({ include: { device: { include: { site: true } } } });
    for (const device of new Map(ders.map((der) => [der.deviceId, der.device])).values()) {
      await seedSite(ingestionReal.ing.db, {
        orgId: device.orgId,
        siteId: device.siteId,
        deviceId: device.id,
        gatewayId: device.commIdentityId,
        deviceType: device.type,
        timezone: device.site.timezone,
        ders: Object.fromEntries(
          ders.filter((der) => der.deviceId === device.id).map((der) => [der.id, der.derType as DerType]),
        ),
      });
    }
    const gatewayOfDer = new Map(ders.map((der) => [der.id, der.device.commIdentityId]));
    const posts = () => ingestionReal.answered("POST", "/v1/telemetry", 200);

    expect(await cli("ws")).toBe(0);
    await ingestionReal.settled();
    const firstRun = ingestionReal.accepted.length;
    expect(firstRun).toBeGreaterThan(0);
    expect(await posts()).toBe(0); // over the WebSocket
    // every reading was taken as sent by the gateway that serves its DER, none refused
    for (const message of ingestionReal.accepted)
      expect(message.gatewayId).toBe(gatewayOfDer.get(message.derId));
    expect(new Set(ingestionReal.accepted.map((m) => m.derId))).toEqual(new Set(ders.map((d) => d.id)));
    expect(await ingestionReal.ing.db.rejectedReading.count()).toBe(0);

    // Restart (over HTTP this time) with the same backfill: it goes on after the last reading sent.
    expect(await cli("http")).toBe(0);
    await ingestionReal.settled();
    expect(ingestionReal.accepted.length).toBeGreaterThan(firstRun);
    await waitFor("the POSTs counted", async () => (await posts()) > 0);
    expect(await ingestionReal.ing.db.rejectedReading.count()).toBe(0);
    for (const der of ders) {
      const before = ingestionReal.items(0, firstRun).filter((i) => i.derId === der.id);
      const after = ingestionReal.items(firstRun).filter((i) => i.derId === der.id);
      expect(after.length, der.id).toBeGreaterThan(0);
      const last = before.at(-1)!.reading;
      const next = after[0]!.reading;
      expect(next.timestamp).toBe(last.timestamp + 1_000);
      const counter = (reading: TelemetryReading) =>
        reading.type === "pv"
          ? reading.total_generation_Wh
          : reading.type === "battery"
            ? (reading as BatteryReading).total_charge_Wh
            : reading.type === "meter"
              ? (reading as MeterReading).total_import_Wh
              : (reading as EvChargerPortReading).total_charge_Wh;
      expect(counter(next)!).toBeGreaterThanOrEqual(counter(last)!);
      expect(counter(next)! - counter(last)!).toBeLessThan(10);
    }
  });
});

it("the status line names sent, accepted, rejected and the latency percentiles", () => {
  const stats = new Stats();
  stats.sent(10, Date.parse("2025-06-21T12:00:00Z"));
  for (const latencyMs of [5, 7, 9, 11, 200]) stats.acknowledged({ accepted: 2, rejected: [], latencyMs });
  expect(stats.line(new Date("2025-06-21T12:00:10Z"))).toBe(
    "12:00:10 sent 10 (+10) accepted 10 rejected 0 failed 0 slowed 0 | ack p50 9.0 ms p99 200 ms (5 batches) | readings up to 12:00:00Z",
  );
});
