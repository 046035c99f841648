/** Counts of what was sent and what ingestion made of it, and acknowledgement latencies. */
import type { BatchResult } from "./transports/transport.ts";

/** The p-th percentile (0..100) of a list of numbers, nearest rank; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = values.toSorted((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface Totals {
  sent: number;
  accepted: number;
  rejected: number;
  failed: number;
  batches: number;
  /** Times ingestion asked to slow down (503/429 with Retry-After) and the batch waited to be sent again. */
  slowed: number;
}

const MAX_SAMPLES = 100_000;

export class Stats {
  readonly totals: Totals = { sent: 0, accepted: 0, rejected: 0, failed: 0, batches: 0, slowed: 0 };
  /** Distinct reasons for refused items and failed batches, with how often each came. */
  readonly reasons = new Map<string, number>();
  private windowLatencies: number[] = [];
  private readonly allLatencies: number[] = [];
  private seen = 0;
  private lastSent = 0;
  /** Timestamp of the newest reading sent. */
  newestReading = 0;

  sent(items: number, newestReading: number): void {
    this.totals.sent += items;
    this.newestReading = Math.max(this.newestReading, newestReading);
  }

  acknowledged(result: BatchResult): void {
    this.totals.batches++;
    this.totals.accepted += result.accepted;
    this.totals.rejected += result.rejected.length;
    for (const rejection of result.rejected) {
      for (const reason of rejection.reasons ?? [])
        this.reason(`rejected: ${reason.field}: ${reason.message}`);
    }
    this.windowLatencies.push(result.latencyMs);
    // A uniform sample of every latency, for the summary at the end.
    this.seen++;
    if (this.allLatencies.length < MAX_SAMPLES) this.allLatencies.push(result.latencyMs);
    else {
      const slot = Math.floor(Math.random() * this.seen);
      if (slot < MAX_SAMPLES) this.allLatencies[slot] = result.latencyMs;
    }
  }

  slowed(): void {
    this.totals.slowed++;
  }

  failed(items: number, error: Error): void {
    this.totals.batches++;
    this.totals.failed += items;
    this.reason(`failed: ${error.message}`);
  }

  private reason(text: string): void {
    this.reasons.set(text, (this.reasons.get(text) ?? 0) + 1);
  }

  /** One status line; the latencies are those since the previous line. */
  line(now = new Date()): string {
    const t = this.totals;
    const latencies = this.windowLatencies;
    this.windowLatencies = [];
    const delta = t.sent - this.lastSent;
    this.lastSent = t.sent;
    const ms = (x: number) => (Number.isNaN(x) ? "-" : `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`);
    const newest = this.newestReading ? new Date(this.newestReading).toISOString().slice(11, 19) : "-";
    return (
      `${now.toISOString().slice(11, 19)} sent ${t.sent} (+${delta}) accepted ${t.accepted} ` +
      `rejected ${t.rejected} failed ${t.failed} slowed ${t.slowed} | ack p50 ${ms(percentile(latencies, 50))} ` +
      `p99 ${ms(percentile(latencies, 99))} (${latencies.length} batches) | readings up to ${newest}Z`
    );
  }

  summary(): string {
    const t = this.totals;
    const all = this.allLatencies;
    const ms = (x: number) => (Number.isNaN(x) ? "-" : `${x.toFixed(1)} ms`);
    return (
      `sent ${t.sent} readings in ${t.batches} batches: accepted ${t.accepted}, rejected ${t.rejected}, ` +
      `failed ${t.failed}, slowed ${t.slowed} times; ack p50 ${ms(percentile(all, 50))}, p99 ${ms(percentile(all, 99))}`
    );
  }
}
