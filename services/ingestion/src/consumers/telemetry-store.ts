import { topics } from "@energy/contracts";
import { Counter, type Registry } from "prom-client";
import { defineBatchSubscription } from "../context.ts";
import { ApplyGate } from "../store/apply-gate.ts";
import { applyReadings, eachReading } from "../store/apply-readings.ts";

/** Readings applied per database transaction (each reading is stored once, so a split changes nothing). */
const READINGS_PER_TRANSACTION = 4_000;

/** The store's counters, once per metrics registry (one service, one registry). */
const countersByRegistry = new WeakMap<Registry, { stored: Counter; duplicate: Counter }>();
function counters(registry: Registry) {
  let found = countersByRegistry.get(registry);
  if (!found) {
    found = {
      stored: new Counter({
        name: "ingestion_readings_stored_total",
        help: "readings stored by the telemetry store",
        registers: [registry],
      }),
      duplicate: new Counter({
        name: "ingestion_readings_duplicate_total",
        help: "readings the telemetry store found stored already (redelivered or sent twice)",
        registers: [registry],
      }),
    };
    countersByRegistry.set(registry, found);
  }
  return found;
}

/** The store's consumers (service.ts) and how many chunks they apply together once behind (ApplyGate). */
export const STORE_CONSUMERS = 3;
/** Messages per chunk (service.ts): a partition with a chunk's worth more after this one is behind. */
export const STORE_CHUNK_MESSAGES = 32;

/** One ApplyGate per service, shared by the store's consumers. */
const gates = new WeakMap<object, ApplyGate>();
function gateOf(service: object): ApplyGate {
  let gate = gates.get(service);
  if (!gate) {
    gate = new ApplyGate({ backlog: STORE_CHUNK_MESSAGES, concurrent: STORE_CONSUMERS });
    gates.set(service, gate);
  }
  return gate;
}

/**
 * Applies ingestion.telemetry.v1 to ingestion's own state, a few thousand readings per transaction:
 * raw readings, twins, half-hourly energy, liveness (see store/apply-readings.ts). Offsets are
 * committed after the transaction; a redelivered reading is found stored and changes nothing.
 * Ingestion alone produces this topic and checked every reading before producing it (trusted payload).
 */
export const telemetryStore = defineBatchSubscription(
  topics.ingestionTelemetry,
  async (messages, { service, heartbeat, behind }) => {
    // At most READINGS_PER_TRANSACTION readings per transaction, heartbeating between them: a chunk of
    // large messages can hold hundreds of thousands of readings after a backlog.
    // While the store keeps up, one chunk at a time (see ApplyGate).
    const { stored, duplicate } = counters(service.app.metrics);
    const readings = eachReading(messages.map((m) => m.payload));
    let events = 0;
    for (let i = 0; i < readings.length; i += READINGS_PER_TRANSACTION) {
      const result = await gateOf(service).run(behind, () =>
        applyReadings(service.db, readings.slice(i, i + READINGS_PER_TRANSACTION)),
      );
      events += result.intervalsComputed + result.intervalsCorrected + result.devicesBackActive;
      stored.inc(result.stored);
      duplicate.inc(result.duplicates);
      await heartbeat();
    }
    if (events > 0) service.published();
  },
  { trustedPayload: true },
);
