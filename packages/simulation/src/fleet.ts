/**
 * Gateways as the wire sees them: each gateway's site simulator turned into ingestion items
 * (`{ derId, reading }`), a tick or a batch at a time. Benches use it without a registry through
 * syntheticGateways().
 */
import type { TelemetryReading } from "@energy/contracts";
import { type Faults, SiteSimulator, type SiteState } from "./curves.ts";
import { type DerKey, planSite, type SitePlan } from "./site-plan.ts";

/** One element of an ingestion batch. */
export interface TelemetryItem {
  derId: string;
  reading: TelemetryReading;
}

/** A gateway with the registry ids of its site's DERs. */
export interface SimulatedGateway {
  gatewayId: string;
  plan: SitePlan;
  derIds: Partial<Record<DerKey, string>>;
}

export interface GatewayRun {
  /** Timestamp of the first reading, ms. */
  start: number;
  intervalMs: number;
  faults?: Faults;
  /** Resume from a saved state (its timestamp replaces start). */
  state?: SiteState;
}

export interface Batch {
  items: TelemetryItem[];
  /** Timestamps covered: first and last reading (also when a gap left the batch empty). */
  from: number;
  to: number;
}

export class GatewaySimulator {
  readonly gateway: SimulatedGateway;
  readonly site: SiteSimulator;

  constructor(gateway: SimulatedGateway, run: GatewayRun) {
    this.gateway = gateway;
    this.site = new SiteSimulator({
      seed: gateway.plan.seed,
      profile: gateway.plan.profile,
      start: run.start,
      intervalMs: run.intervalMs,
      faults: run.faults,
      state: run.state,
    });
  }

  get nextTimestamp(): number {
    return this.site.nextTimestamp;
  }

  /** The items of the next timestamp (none inside an injected gap). */
  next(): { timestamp: number; items: TelemetryItem[] } {
    const step = this.site.next();
    if (!step.reported) return { timestamp: step.timestamp, items: [] };
    const { derIds } = this.gateway;
    const items: TelemetryItem[] = [];
    const add = (key: DerKey, reading: TelemetryReading | null) => {
      const derId = derIds[key];
      if (derId && reading) items.push({ derId, reading });
    };
    step.readings.pv.forEach((reading, i) => {
      add(`pv${i}`, reading);
    });
    add("battery", step.readings.battery);
    add("meter", step.readings.meter);
    add("ev", step.readings.evPort);
    return { timestamp: step.timestamp, items };
  }

  /**
   * Readings of whole timestamps up to `until` (inclusive), stopping once `maxItems` is reached; null when
   * the next timestamp is after `until`.
   */
  take(until: number, maxItems: number): Batch | null {
    if (this.nextTimestamp > until) return null;
    const batch: Batch = { items: [], from: this.nextTimestamp, to: this.nextTimestamp };
    while (this.nextTimestamp <= until && batch.items.length < maxItems) {
      const tick = this.next();
      batch.to = tick.timestamp;
      for (const item of tick.items) batch.items.push(item);
    }
    return batch;
  }

  snapshot(): SiteState {
    return this.site.snapshot();
  }
}

/** Gateways with made-up ids (`zap-sim-0`, `der-sim-0-pv0`…), for benches and tests without a registry. */
export function syntheticGateways(count: number, devices: number, seed = "sim"): SimulatedGateway[] {
  return Array.from({ length: count }, (_, index) => {
    const plan = planSite(seed, index, devices);
    const derIds: Partial<Record<DerKey, string>> = {};
    for (const device of plan.devices) {
      for (const der of device.ders) derIds[der.key] = `der-sim-${index}-${der.key}`;
    }
    return { gatewayId: `zap-sim-${index}`, plan, derIds };
  });
}
