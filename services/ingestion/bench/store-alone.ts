/**
 * The telemetry store's database work alone: the same realistic readings as bench/throughput.ts, grouped
 * as the store gets them from ingestion.telemetry.v1, applied with applyReadings one chunk at a time
 * (no Kafka, no service), with the time of each statement kind; then a raw COPY of the same rows into a
 * copy of the reading table for comparison.
 *
 *   node --import tsx bench/store-alone.ts [--readings 200000] [--chunk 4000] [--gateways 50] [--devices 2]
 */

import type { TelemetryReading } from "@energy/contracts";
import { GatewaySimulator, syntheticGateways, type TelemetryItem } from "@energy/simulation";
import { closeDb, createDb, type Db } from "../src/db.ts";
import { checkReading } from "../src/domain/reading-checks.ts";
import { maintainPartitions } from "../src/readings/partitions.ts";
import { type AcceptedReading, applyReadings } from "../src/store/apply-readings.ts";
import { copyBaseline, copyRuns } from "./baselines.ts";
import {
  numberOption,
  prepare,
  type SeedGateway,
  seedProjection,
  seedScopes,
  table,
  teardown,
} from "./harness.ts";

const READINGS = numberOption("readings", 200_000);
const CHUNK = numberOption("chunk", 4_000);
const GATEWAYS = numberOption("gateways", 50);
const DEVICES = numberOption("devices", 2);
const DAY_MS = 86_400_000;

const setup = await prepare("energy_ingestion_store_bench");
const db: Db = createDb(setup.databaseUrl);
try {
  const gateways = syntheticGateways(GATEWAYS, DEVICES, "bench");
  const seed: SeedGateway[] = gateways.map((g) => ({
    gatewayId: g.gatewayId,
    devices: g.plan.devices.map((d) => ({
      deviceId: `dev-sim-${g.plan.index}-${d.key}`,
      type: d.type,
      ders: d.ders.map((der) => ({ derId: g.derIds[der.key]!, derType: der.derType })),
    })),
  }));
  await seedProjection(setup.databaseUrl, seed);
  await maintainPartitions(db, { now: new Date(), retentionDays: 30 });
  const scopes = seedScopes(seed);
  const start = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS;
  const sims = gateways.map((g) => new GatewaySimulator(g, { start, intervalMs: 5000 }));
  // Batches of 500 as the gateways send them, round robin; then messages of one DER each, in the order
  // the store would read them (by partition: here one stream), flattened into chunks.
  const batches: TelemetryItem[][] = [];
  const accepted: AcceptedReading[] = [];
  const now = Date.now();
  for (let n = 0, i = 0; n < READINGS; i = (i + 1) % sims.length) {
    const items = sims[i]!.take(now, 500)!.items;
    batches.push(items);
    n += items.length;
    const receivedAt = new Date().toISOString();
    const byDer = new Map<string, TelemetryReading[]>();
    for (const { derId, reading } of items) {
      const check = checkReading(reading, now, { earliestMs: 0, futureToleranceMs: 300_000 });
      if (!check.ok) throw new Error(JSON.stringify(check.reasons));
      const list = byDer.get(derId);
      if (list) list.push(check.reading);
      else byDer.set(derId, [check.reading]);
    }
    for (const [derId, readings] of byDer) {
      const s = scopes.get(derId)!;
      for (const reading of readings)
        accepted.push({
          derId,
          deviceId: s.deviceId,
          siteId: s.siteId,
          orgId: s.orgId,
          gatewayId: s.gatewayId,
          receivedAt,
          reading,
        });
    }
  }

  // Time each statement by its first words.
  const times = new Map<string, { ms: number; n: number }>();
  const connect = db.pool.connect.bind(db.pool);
  const wrapped = new WeakSet<object>();
  // biome-ignore lint/suspicious/noExplicitAny: wrapping pg's overloads
  (db.pool as any).connect = async () => {
    const client = await connect();
    if (wrapped.has(client)) return client;
    wrapped.add(client);
    const original = client.query.bind(client);
    // biome-ignore lint/suspicious/noExplicitAny: wrapping pg's overloads
    (client as any).query = (text: any, values?: any) => {
      const t0 = performance.now();
      if (typeof text?.submit === "function") {
        // a COPY stream: timed until it finishes
        const stream = original(text);
        const done = () => {
          const entry = times.get("COPY") ?? { ms: 0, n: 0 };
          entry.ms += performance.now() - t0;
          entry.n++;
          times.set("COPY", entry);
        };
        stream.once("finish", done);
        return stream;
      }
      return timed(t0, text, values);
    };
    // biome-ignore lint/suspicious/noExplicitAny: wrapping pg's overloads
    const timed = async (t0: number, text: any, values?: any) => {
      try {
        return await original(text, values);
      } finally {
        const key = String(typeof text === "string" ? text : text.text)
          .replace(/\s+/g, " ")
          .trim()
          .slice(0, 60);
        const entry = times.get(key) ?? { ms: 0, n: 0 };
        entry.ms += performance.now() - t0;
        entry.n++;
        times.set(key, entry);
      }
    };
    return client;
  };
  const t0 = performance.now();
  let stored = 0;
  for (let i = 0; i < accepted.length; i += CHUNK) {
    const r = await applyReadings(db, accepted.slice(i, i + CHUNK));
    stored += r.stored;
  }
  const ms = performance.now() - t0;
  console.log(
    `applyReadings: ${stored} readings in ${(ms / 1000).toFixed(2)} s = ${Math.round((stored * 1000) / ms).toLocaleString("en-US")}/s (chunks of ${CHUNK})`,
  );
  console.log(
    table([
      ["statement", "calls", "ms", "µs per reading"],
      ...[...times]
        .sort((a, b) => b[1].ms - a[1].ms)
        .map(([k, v]) => [k, String(v.n), v.ms.toFixed(0), ((v.ms * 1000) / stored).toFixed(1)]),
    ]),
  );
  const copy = await copyBaseline(setup.databaseUrl, batches, scopes);
  console.log(
    `COPY of the same rows: ${Math.round(copy.perSecond).toLocaleString("en-US")}/s (${copyRuns(copy)})`,
  );
} finally {
  await closeDb(db);
  await teardown(setup, false);
}
