import { Gauge, type Registry } from "prom-client";

/** The two calls of a kafkajs admin client the monitor makes. */
export interface OffsetsAdmin {
  fetchTopicOffsets(topic: string): Promise<Array<{ partition: number; high: string; low: string }>>;
  fetchOffsets(opts: {
    groupId: string;
    topics: string[];
  }): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

/** How far the telemetry store is behind the acknowledgements, as the gateway-facing routes read it. */
export interface StoreLag {
  /** Age of the oldest acknowledged message the store has not applied yet (0 when it is caught up), ms. */
  lagMs(): number;
  /**
   * The lag gateways are slowed by, ms: the larger of the lag and the time the store needs to apply what
   * is acknowledged and not applied yet at the rate it has been applying (what a message acknowledged now
   * will wait). The second grows as soon as acknowledgements outrun the store, before the lag shows it.
   */
  pressureMs(): number;
  /**
   * Counts `messages` taken to be produced now (a frame or batch let through): the pressure grows by the time
   * the store needs for them at once, before the next poll sees them on Kafka. Without it, gateways let go
   * together would all go through on one poll's figure, and the burst would carry the lag past its bound.
   */
  admit(messages: number): void;
  /**
   * Resolves once the pressure is at most `ms` (at once when it is already) and admits `messages` then.
   * Waiters go one by one, each adding its messages before the next is looked at, so no more are let go
   * than keep the pressure at `ms`; the others wait for a later poll.
   */
  below(ms: number, messages?: number): Promise<void>;
}

export interface StoreLagMonitorOptions {
  admin: OffsetsAdmin;
  /** the telemetry store's consumer group (with the environment's prefix) */
  groupId: string;
  /** ingestion.telemetry.v1 with the environment's prefix */
  topic: string;
  /** default 250 ms: the lag is known to about this much */
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}

/** When the end of a partition was first seen at or beyond an offset. */
type Sighting = { end: bigint; at: number };

/** Weight of the newest sample in the store's apply rate (an exponentially weighted mean). */
const RATE_WEIGHT = 0.3;

/**
 * Measures the telemetry store's lag from Kafka alone, so it holds whichever instance runs the store's
 * partitions: every poll reads the end offset of each partition of ingestion.telemetry.v1 and the store
 * group's committed offset (the store commits after each applied chunk). The oldest unapplied message of a
 * partition is the one at the committed offset; it was produced by the first poll that saw the partition's end
 * beyond it, so the lag is the time since that poll (to within one poll interval). A store that stopped
 * (crashed, stuck, not started) shows a lag that grows, as it should.
 *
 * The lag alone reacts late: what was acknowledged before gateways are slowed still has to be applied, so
 * the lag goes on growing after it. The monitor also keeps the store's apply rate (messages per second,
 * sampled only over polls with a backlog at both ends, when the store was busy the whole time) and the
 * backlog; their quotient is how long a message acknowledged now would wait, and the pressure is the larger
 * of the two.
 */
export class StoreLagMonitor implements StoreLag {
  private readonly sightings = new Map<number, Sighting[]>();
  private lag = 0;
  private pressure = 0;
  /** the store's apply rate, messages/ms (0 until measured) */
  private rate = 0;
  /** messages not yet applied at the last poll, and those admitted since (not on Kafka at that poll) */
  private behind = 0;
  private admitted = 0;
  private previous: { at: number; applied: bigint; behind: bigint } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private polling: Promise<unknown> = Promise.resolve();
  private readonly waiters = new Set<{ ms: number; messages: number; resolve: () => void }>();

  constructor(private readonly opts: StoreLagMonitorOptions) {}

  /** `ingestion_store_lag_seconds` and `ingestion_store_pressure_seconds` on the service's registry. */
  registerMetrics(registry: Registry): void {
    const monitor = this;
    new Gauge({
      name: "ingestion_store_lag_seconds",
      help: "age of the oldest accepted telemetry message the telemetry store has not applied yet",
      registers: [registry],
      collect() {
        this.set(monitor.lag / 1000);
      },
    });
    new Gauge({
      name: "ingestion_store_pressure_seconds",
      help: "what gateways are slowed by: the larger of the store lag and the time the store needs to apply its backlog at its rate",
      registers: [registry],
      collect() {
        this.set(monitor.pressure / 1000);
      },
    });
  }

  lagMs(): number {
    return this.lag;
  }

  pressureMs(): number {
    return this.pressure;
  }

  admit(messages: number): void {
    this.admitted += messages;
    this.pressure = Math.max(this.lag, this.drainMs());
  }

  below(ms: number, messages = 0): Promise<void> {
    if (!this.running || (this.pressure <= ms && this.waiters.size === 0)) {
      this.admit(messages);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.add({ ms, messages, resolve }));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = () => {
      this.polling = this.poll()
        .catch((error: unknown) => this.opts.onError?.(error))
        .finally(() => {
          if (this.running) this.timer = setTimeout(tick, this.opts.pollIntervalMs ?? 250);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.polling;
    this.release();
  }

  /** One look at the ends and the committed offsets; exposed for tests. */
  async poll(now = Date.now()): Promise<number> {
    const [ends, groups] = await Promise.all([
      this.opts.admin.fetchTopicOffsets(this.opts.topic),
      this.opts.admin.fetchOffsets({ groupId: this.opts.groupId, topics: [this.opts.topic] }),
    ]);
    const committed = new Map(
      (groups.find((g) => g.topic === this.opts.topic)?.partitions ?? []).map((p) => [
        p.partition,
        BigInt(p.offset),
      ]),
    );
    let lag = 0;
    let applied = 0n;
    let behind = 0n;
    for (const { partition, high, low } of ends) {
      const end = BigInt(high);
      // a group that has committed nothing yet starts from the beginning of what is kept
      const next = committed.get(partition) ?? -1n;
      const appliedHere = next < 0n ? BigInt(low) : next;
      applied += appliedHere;
      if (appliedHere < end) behind += end - appliedHere;
      const seen = this.sightings.get(partition) ?? [];
      if (seen.length === 0 || seen[seen.length - 1]!.end < end) seen.push({ end, at: now });
      // sightings whose end the store has reached tell nothing any more
      while (seen.length > 0 && seen[0]!.end <= appliedHere) seen.shift();
      this.sightings.set(partition, seen);
      if (appliedHere < end && seen.length > 0) lag = Math.max(lag, now - seen[0]!.at);
    }
    this.sampleRate(now, applied, behind);
    this.lag = lag;
    this.behind = Number(behind);
    // what was admitted before this poll is on Kafka now, in `behind`
    this.admitted = 0;
    this.pressure = Math.max(lag, this.drainMs());
    this.release();
    return lag;
  }

  /** The time the store needs at its rate for what is behind and what was admitted since, ms. */
  private drainMs(): number {
    const waiting = this.behind + this.admitted;
    return waiting > 0 && this.rate > 0 ? waiting / this.rate : 0;
  }

  /** One sample of the apply rate, when the store had a backlog over the whole interval since the last poll. */
  private sampleRate(now: number, applied: bigint, behind: bigint): void {
    const previous = this.previous;
    this.previous = { at: now, applied, behind };
    if (!previous || previous.behind === 0n || behind === 0n || now <= previous.at) return;
    const sample = Number(applied - previous.applied) / (now - previous.at);
    if (sample < 0) return; // a group reset: nothing to learn
    this.rate = this.rate === 0 ? sample : RATE_WEIGHT * sample + (1 - RATE_WEIGHT) * this.rate;
  }

  /** Lets waiters go in the order they came while the pressure allows (all of them once stopped). */
  private release(): void {
    for (const waiter of this.waiters) {
      if (this.running && this.pressure > waiter.ms) break;
      this.waiters.delete(waiter);
      this.admit(waiter.messages);
      waiter.resolve();
    }
  }
}
