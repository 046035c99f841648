/**
 * Streams every gateway through a transport: readings at `start + k × interval`; while the readings are
 * behind the clock (a backfill, or after a stall) whole timestamps are batched up to `batchItems` items and
 * sent as fast as the window allows; once caught up, one batch per interval. Each gateway keeps at most
 * `window` batches in flight; retriable failures are sent again with backoff. After each acknowledged batch
 * the gateway's site state is handed to `onProgress`, so a restart can continue where it stopped.
 */
import { GatewaySimulator, type SimulatedGateway, type SiteState } from "@energy/simulation";
import type { Stats } from "./stats.ts";
import type { GatewayLink, Transport } from "./transports/transport.ts";
import { TransportError } from "./transports/transport.ts";

export type StreamGateway = SimulatedGateway & GatewayLink;

export interface RunOptions {
  gateways: StreamGateway[];
  transport: Transport;
  intervalMs: number;
  /** Timestamp of the first reading of a gateway without a saved state, ms. */
  start: number;
  /** Saved states by gateway id: the gateway continues from there (fast-forwarded to `start` if older). */
  resume?: Map<string, SiteState>;
  /** Stop at this wall-clock time, ms. */
  until?: number;
  /** Batches in flight per gateway. */
  window: number;
  /** Items per batch at most, while catching up. */
  batchItems: number;
  stats: Stats;
  signal: AbortSignal;
  onProgress?: (gatewayId: string, state: SiteState) => void;
  /** Counter reset and gap, relative to `start` (ms), for every gateway. */
  faults?: { counterResetAfterMs?: number; gapAfterMs?: number; gapLengthMs?: number };
  /** How many times a retriable failure is sent again. */
  retries?: number;
  /** How long to wait for batches in flight after the stop, ms. */
  graceMs?: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

/** Where a gateway starts: its saved state (run forward to `start` when older), or `start`. */
export function simulatorFor(gateway: SimulatedGateway, opts: RunOptions): GatewaySimulator {
  const f = opts.faults ?? {};
  const faults = {
    ...(f.counterResetAfterMs !== undefined ? { counterResetAt: opts.start + f.counterResetAfterMs } : {}),
    ...(f.gapAfterMs !== undefined
      ? { gap: { from: opts.start + f.gapAfterMs, to: opts.start + f.gapAfterMs + (f.gapLengthMs ?? 0) } }
      : {}),
  };
  const saved = opts.resume?.get(gateway.gatewayId);
  const sim = new GatewaySimulator(gateway, {
    start: opts.start,
    intervalMs: opts.intervalMs,
    faults,
    ...(saved ? { state: saved } : {}),
  });
  if (saved && saved.t < opts.start) sim.site.fastForward(opts.start);
  return sim;
}

export async function run(opts: RunOptions): Promise<void> {
  const { transport, stats, signal } = opts;
  const retries = opts.retries ?? 5;

  async function sendWithRetry(gateway: StreamGateway, items: Parameters<Transport["send"]>[1]) {
    for (let attempt = 0; ; ) {
      try {
        return await transport.send(gateway, items);
      } catch (error) {
        if (signal.aborted) throw error;
        // asked to slow down (ingestion's store is behind): wait as told and send again, however often
        const slowDown = error instanceof TransportError ? error.retryAfterMs : undefined;
        if (slowDown !== undefined) {
          stats.slowed();
          await sleep(slowDown, signal);
          continue;
        }
        const retriable = error instanceof TransportError ? error.retriable : true;
        if (!retriable || attempt >= retries) throw error;
        await sleep(Math.min(8_000, 500 * 2 ** attempt), signal);
        attempt++;
      }
    }
  }

  async function stream(gateway: StreamGateway, index: number): Promise<void> {
    const sim = simulatorFor(gateway, opts);
    // Gateways send a little apart from each other rather than all on the same millisecond.
    const jitter = Math.floor(((index * 0.618034) % 1) * Math.min(opts.intervalMs, 1_000));
    const inFlight = new Set<Promise<void>>();
    let seq = 0;
    let saved = -1;
    while (!signal.aborted) {
      const now = Date.now();
      if (opts.until !== undefined && now >= opts.until) break;
      const due = sim.nextTimestamp + jitter;
      if (due > now) {
        await sleep(Math.min(due - now, (opts.until ?? Number.POSITIVE_INFINITY) - now), signal);
        continue;
      }
      const batch = sim.take(now - jitter, opts.batchItems);
      if (!batch || batch.items.length === 0) continue; // an injected gap
      const state = sim.snapshot();
      const mine = seq++;
      while (inFlight.size >= opts.window) await Promise.race(inFlight);
      stats.sent(batch.items.length, batch.to);
      const sending: Promise<void> = sendWithRetry(gateway, batch.items)
        .then((result) => {
          stats.acknowledged(result);
          if (mine > saved) {
            saved = mine;
            opts.onProgress?.(gateway.gatewayId, state);
          }
        })
        .catch((error: Error) => stats.failed(batch.items.length, error))
        .finally(() => inFlight.delete(sending));
      inFlight.add(sending);
    }
    // Batches still in flight get a moment to be answered (and their progress saved).
    await Promise.race([
      Promise.allSettled(inFlight),
      new Promise((resolve) => setTimeout(resolve, opts.graceMs ?? 5_000).unref()),
    ]);
  }

  await Promise.all(opts.gateways.map((gateway, index) => stream(gateway, index)));
}
