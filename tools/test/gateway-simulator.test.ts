import { createPublicKey, generateKeyPairSync, type KeyObject, verify } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  type BatteryReading,
  type EvChargerPortReading,
  type MeterReading,
  type PvReading,
  type TelemetryReading,
  validateReading,
} from "@energy/contracts";
import { createTestKafka, readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { startRegistry } from "@energy/registry/testing";
import {
  clearSkyFraction,
  localTime,
  SiteSimulator,
  type SiteStep,
  SOC_MAX,
  SOC_MIN,
  sunElevationSine,
} from "../gateway-simulator/curves.ts";
import { GatewaySimulator, syntheticGateways, type TelemetryItem } from "../gateway-simulator/fleet.ts";
import { main, parseDuration } from "../gateway-simulator/main.ts";
import { type ProvisionedGateway, provision } from "../gateway-simulator/provision.ts";
import { run } from "../gateway-simulator/runner.ts";
import { planSite } from "../gateway-simulator/site-plan.ts";
import { Stats } from "../gateway-simulator/stats.ts";
import { HttpTransport } from "../gateway-simulator/transports/http.ts";
import { KafkaTransport, RAW_TOPIC } from "../gateway-simulator/transports/kafka.ts";
import { retryAfterMs } from "../gateway-simulator/transports/transport.ts";
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

// --- a stand-in for ingestion's wire protocol (HTTP and WebSocket), until services/ingestion exists ---------

interface StubBatch {
  gatewayId: string;
  via: "http" | "ws";
  contentType: string;
  gzip: boolean;
  items: TelemetryItem[];
}

/**
 * Speaks the documented wire protocol: bearer token on the POST and on the upgrade, a JSON array or NDJSON
 * (optionally gzip), every reading checked with validateReading; WebSocket batches answered after
 * `ackDelayMs`.
 */
async function startIngestionStub(opts: {
  gatewayOf: (token: string) => string | null;
  ackDelayMs?: number;
  /** the first `posts` HTTP batches are answered 503 with this Retry-After (ingestion's store is behind) */
  slowDown?: { posts: number; retryAfter: string };
}) {
  const batches: StubBatch[] = [];
  const slowedAt: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const check = (items: TelemetryItem[]) => {
    const rejected = items.flatMap((item, index) => {
      const result = validateReading(item.reading);
      return result.ok && typeof item.derId === "string"
        ? []
        : [{ index, reasons: result.ok ? [] : result.errors }];
    });
    return { accepted: items.length - rejected.length, rejected };
  };
  const gatewayOf = (req: IncomingMessage) => {
    const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
    return match ? opts.gatewayOf(match[1]!) : null;
  };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== "POST" || req.url !== "/v1/telemetry") return res.writeHead(404).end();
    const gatewayId = gatewayOf(req);
    if (!gatewayId) {
      res.writeHead(401, { "content-type": "application/json" });
      return res.end(JSON.stringify({ error: { code: "unauthorized", message: "bad token" } }));
    }
    if (opts.slowDown && slowedAt.length < opts.slowDown.posts) {
      slowedAt.push(Date.now());
      res.writeHead(503, { "content-type": "application/json", "retry-after": opts.slowDown.retryAfter });
      return res.end(JSON.stringify({ error: { code: "store_behind", message: "the store is behind" } }));
    }
    const gzip = req.headers["content-encoding"] === "gzip";
    const text = (gzip ? gunzipSync(Buffer.concat(chunks)) : Buffer.concat(chunks)).toString("utf8");
    const contentType = req.headers["content-type"] ?? "";
    const items: TelemetryItem[] = contentType.startsWith("application/x-ndjson")
      ? text
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line))
      : JSON.parse(text);
    batches.push({ gatewayId, via: "http", contentType, gzip, items });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(check(items)));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    const gatewayId = req.url === "/v1/telemetry/ws" ? gatewayOf(req) : null;
    if (!gatewayId) {
      const body = JSON.stringify({ error: { code: "unauthorized", message: "bad token" } });
      socket.end(
        `HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("message", (data) => {
        const { batchId, items } = JSON.parse(data.toString()) as { batchId: string; items: TelemetryItem[] };
        batches.push({ gatewayId, via: "ws", contentType: "", gzip: false, items });
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          ws.send(JSON.stringify({ batchId, ...check(items) }));
        }, opts.ackDelayMs ?? 0);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    batches,
    slowedAt,
    items: () => batches.flatMap((b) => b.items),
    get maxInFlight() {
      return maxInFlight;
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("transports against ingestion's wire protocol", () => {
  const tokens = new Map([["token-a", "zap-sim-0"]]);
  let stub: Awaited<ReturnType<typeof startIngestionStub>>;
  beforeAll(async () => {
    stub = await startIngestionStub({ gatewayOf: (token) => tokens.get(token) ?? null, ackDelayMs: 60 });
  });
  afterAll(async () => stub?.close());

  const [gw] = syntheticGateways(1, 2, "test");
  const link = (token: string) => ({ ...gw!, token: async () => token, renewToken: async () => "token-a" });
  const tick = () =>
    new GatewaySimulator(gw!, { start: Date.parse("2025-06-21T12:00:00Z"), intervalMs: 10_000 }).take(
      Date.parse("2025-06-21T12:01:00Z"),
      1000,
    )!.items;

  it.each([
    ["a JSON array", { format: "json" as const, gzip: false }, "application/json"],
    ["NDJSON", { format: "ndjson" as const, gzip: false }, "application/x-ndjson"],
    ["gzip-compressed JSON", { format: "json" as const, gzip: true }, "application/json"],
  ])("HTTP posts %s and counts what ingestion accepted", async (_name, options, contentType) => {
    const transport = new HttpTransport({ ingestionUrl: stub.url, ...options });
    const items = tick();
    const before = stub.batches.length;
    const result = await transport.send(link("token-a"), items);
    expect(result).toMatchObject({ accepted: items.length, rejected: [] });
    expect(stub.batches.slice(before)).toEqual([
      { gatewayId: "zap-sim-0", via: "http", contentType, gzip: options.gzip, items },
    ]);
  });

  it("HTTP logs in again when ingestion refuses the token, and sends the batch once", async () => {
    const transport = new HttpTransport({ ingestionUrl: stub.url });
    const before = stub.batches.length;
    const result = await transport.send(link("expired"), tick());
    expect(result.accepted).toBeGreaterThan(0);
    expect(stub.batches.length - before).toBe(1);
  });

  it("HTTP reports the items ingestion refused, by index and field", async () => {
    const transport = new HttpTransport({ ingestionUrl: stub.url });
    const items = tick();
    const bad = { ...items[0]!, reading: { ...items[0]!.reading, W: 500 } as PvReading };
    const result = await transport.send(link("token-a"), [items[1]!, bad]);
    expect(result.accepted).toBe(1);
    expect(result.rejected).toEqual([{ index: 1, reasons: [expect.objectContaining({ field: "W" })] }]);
  });

  it("WebSocket: a backfill streams in order with several batches in flight, latency measured", async () => {
    const stats = new Stats();
    const transport = new WsTransport({ ingestionUrl: stub.url });
    const before = stub.items().length;
    const intervalMs = 10_000;
    const now = Date.now();
    const start = Math.floor((now - 30 * 60_000) / intervalMs) * intervalMs;
    const controller = new AbortController();
    await run({
      gateways: [link("expired")],
      transport,
      intervalMs,
      start,
      until: now + 1_500,
      window: 4,
      batchItems: 40,
      stats,
      signal: controller.signal,
    });
    await transport.close();
    const items = stub.items().slice(before);
    expect(stats.totals).toMatchObject({
      sent: items.length,
      accepted: items.length,
      rejected: 0,
      failed: 0,
    });
    expect(items.length).toBeGreaterThanOrEqual(180 * 4); // 30 min at 10 s, four DERs
    expect(stub.maxInFlight).toBe(4);
    const line = stats.line();
    expect(line).toMatch(/ack p50 \d+ ms p99 \d+ ms/);
    expect(Number(/p50 (\d+)/.exec(line)![1])).toBeGreaterThanOrEqual(60);
    // every DER's readings: consecutive timestamps from the start, no hole and no repeat
    for (const derId of Object.values(gw!.derIds)) {
      const times = items.filter((i) => i.derId === derId).map((i) => i.reading.timestamp);
      expect(times).toEqual(times.map((_, k) => start + k * intervalMs));
    }
  });
});

describe("a gateway slowed by ingestion (its telemetry store is behind)", () => {
  const [gw] = syntheticGateways(1, 2, "test");
  const link = { ...gw!, token: async () => "token-a" };

  it("HTTP: waits as long as Retry-After says, as often as asked, then delivers every reading once", async () => {
    const stub = await startIngestionStub({
      gatewayOf: (token) => (token === "token-a" ? gw!.gatewayId : null),
      slowDown: { posts: 3, retryAfter: "1" },
    });
    try {
      const stats = new Stats();
      const intervalMs = 10_000;
      const now = Date.now();
      const start = Math.floor((now - 5 * 60_000) / intervalMs) * intervalMs;
      const startedAt = Date.now();
      // more slow-downs (3) than retries of other failures (2): a slow-down is not a failure
      await run({
        gateways: [link],
        transport: new HttpTransport({ ingestionUrl: stub.url }),
        intervalMs,
        start,
        until: now + 200,
        window: 1,
        batchItems: 1_000,
        stats,
        signal: new AbortController().signal,
        retries: 2,
        graceMs: 20_000,
      });
      expect(stub.slowedAt).toHaveLength(3);
      // each resend came a second after its 503, not at once nor with the backoff of a failure
      for (let k = 1; k < stub.slowedAt.length; k++) {
        expect(stub.slowedAt[k]! - stub.slowedAt[k - 1]!).toBeGreaterThanOrEqual(990);
        expect(stub.slowedAt[k]! - stub.slowedAt[k - 1]!).toBeLessThan(1_900);
      }
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(3_000);
      const items = stub.items();
      expect(stats.totals).toMatchObject({ accepted: items.length, failed: 0, slowed: 3 });
      expect(new Set(items.map((i) => `${i.derId}@${i.reading.timestamp}`)).size).toBe(items.length);
      expect(items.length).toBeGreaterThanOrEqual(30 * 4); // 5 minutes at 10 s, four DERs
    } finally {
      await stub.close();
    }
  });

  it("reads Retry-After in seconds or as an HTTP date", () => {
    const now = Date.parse("2026-12-01T12:00:00Z");
    expect(retryAfterMs("2", now)).toBe(2_000);
    expect(retryAfterMs("Tue, 01 Dec 2026 12:00:03 GMT", now)).toBe(3_000);
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs("soon", now)).toBeUndefined();
  });

  it("WebSocket: slowed answers hold the gateway back (its window), and none is lost", async () => {
    const stub = await startIngestionStub({
      gatewayOf: (token) => (token === "token-a" ? gw!.gatewayId : null),
      ackDelayMs: 400,
    });
    try {
      const stats = new Stats();
      const intervalMs = 10_000;
      const now = Date.now();
      const start = Math.floor((now - 60 * 60_000) / intervalMs) * intervalMs;
      const transport = new WsTransport({ ingestionUrl: stub.url });
      await run({
        gateways: [link],
        transport,
        intervalMs,
        start,
        until: now + 1_000,
        window: 2,
        batchItems: 20,
        stats,
        signal: new AbortController().signal,
      });
      await transport.close();
      // at most 2 frames in flight, each held 400 ms: the gateway sent at the pace of the answers
      expect(stub.maxInFlight).toBe(2);
      expect(stats.totals.failed).toBe(0);
      expect(stats.totals.accepted).toBe(stub.items().length);
    } finally {
      await stub.close();
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

// --- against a real registry (in-process, its own database) ------------------------------------------------

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
  let stub: Awaited<ReturnType<typeof startIngestionStub>>;
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
    const publicKeyPem = r.config.JWT_PUBLIC_KEY;
    stub = await startIngestionStub({
      gatewayOf: (token) => {
        const claims = verifyJwt(token, publicKeyPem);
        return claims?.typ === "gateway" ? claims.sub : null;
      },
    });
  });
  afterAll(async () => {
    await stub?.close();
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
          "ingestion-url": stub.url,
          "data-dir": dataDir,
          org: operator.orgId,
          operator: operator.identityId,
          "operator-key": keyFile,
        }),
      );
    expect(await cli("ws")).toBe(0);
    const firstRun = stub.batches.length;
    const ders = await r.db.der.findMany({ include: { device: true } });
    const gatewayOfDer = new Map(ders.map((der) => [der.id, der.device.commIdentityId]));
    expect(firstRun).toBeGreaterThan(0);
    for (const batch of stub.batches) {
      for (const item of batch.items) expect(gatewayOfDer.get(item.derId)).toBe(batch.gatewayId);
    }
    expect(new Set(stub.items().map((i) => i.derId))).toEqual(new Set(ders.map((d) => d.id)));

    // Restart (over HTTP this time) with the same backfill: it goes on after the last reading sent.
    expect(await cli("http")).toBe(0);
    const second = stub.batches.slice(firstRun);
    expect(second.length).toBeGreaterThan(0);
    expect(second.every((b) => b.via === "http")).toBe(true);
    for (const der of ders) {
      const before = stub.batches
        .slice(0, firstRun)
        .flatMap((b) => b.items.filter((i) => i.derId === der.id));
      const after = second.flatMap((b) => b.items.filter((i) => i.derId === der.id));
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
