import type { StoreLag } from "../store/store-lag.ts";

/**
 * Slows gateways while the telemetry store is behind, so that its lag (and the staleness of twins,
 * half-hours and liveness) stays bounded instead of growing with a sustained load: acknowledgements could
 * otherwise outrun the store without limit. Gateways are slowed from half of the bound on, because what was
 * acknowledged before the slow-down still has to be applied: the lag keeps growing while the store drains it.
 * They are slowed by the pressure, not the lag alone: the time what is acknowledged and not yet applied takes
 * the store at its rate, so the slow-down starts as soon as acknowledgements outrun the store.
 * HTTP batches are answered 503 with Retry-After; WebSocket frames wait (their acknowledgement with them).
 * Both go on by themselves once the store has caught up.
 */
export class Backpressure {
  /** The lag from which gateways are slowed, ms. */
  readonly slowFromMs: number;

  constructor(
    private readonly lag: StoreLag | undefined,
    /** STORE_LAG_MAX_SECONDS, in ms */
    readonly maxLagMs: number,
  ) {
    this.slowFromMs = maxLagMs / 2;
  }

  /** The store's lag now, ms (0 without a lag monitor). */
  lagMs(): number {
    return this.lag?.lagMs() ?? 0;
  }

  /** The lag gateways are slowed by (see StoreLag.pressureMs), ms. */
  pressureMs(): number {
    return this.lag?.pressureMs() ?? 0;
  }

  /** null while gateways go at full speed; else how long a gateway should wait before sending again, s. */
  retryAfterSeconds(): number | null {
    const pressure = this.pressureMs();
    if (pressure <= this.slowFromMs) return null;
    return Math.min(30, Math.max(1, Math.ceil((pressure - this.slowFromMs) / 1000)));
  }

  /** Counts a batch let through at full speed: `messages` it will produce (see StoreLag.admit). */
  admit(messages: number): void {
    this.lag?.admit(messages);
  }

  /**
   * Resolves once a batch of `messages` may go on (at once while gateways are not slowed), counted as
   * admitted then. Waiting batches go in turn, as many as keep the store's pressure below the slow-down.
   */
  ready(messages: number): Promise<void> {
    return this.lag ? this.lag.below(this.slowFromMs, messages) : Promise.resolve();
  }
}

/** The messages a batch of `{ derId, reading }` items produces at most: one per DER (Ingestor). */
export function messagesOf(items: readonly unknown[]): number {
  const ders = new Set<unknown>();
  for (const item of items) ders.add((item as { derId?: unknown } | null)?.derId);
  return ders.size;
}
