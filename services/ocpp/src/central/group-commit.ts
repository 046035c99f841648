import { createHistogram, type RecordableHistogram } from "node:perf_hooks";
/**
 * Group commit: what many chargers send at about the same time, written together (one statement, or one
 * transaction, for the whole batch) instead of one transaction with a round trip per row for each call. The first item
 * after a quiet spell goes at once (a batch of one: no added wait); items that arrive while `maxInFlight`
 * batches are being written wait for the next batch, so batches grow with the load. Each item's promise
 * settles once its batch committed (a charger is answered only after its call is stored).
 *
 * A result may be `alone` itself (an item the batch leaves to its own path). A batch that fails as a whole (one call's value no column or contract takes, two sessions of one
 * charger in one batch, a deadlock) is rolled back, and each of its items is then run on its own by
 * `alone` (the call's own transaction through its handler: its own answer or CALLERROR).
 */
/** A batch's result for an item it leaves to the item's own path (`alone`). */
export const ALONE: unique symbol = Symbol("alone");

/**
 * Where a group commit's time goes, since the last reset: how long items waited in the queue before
 * their batch started, how long batches took to write, and their sizes (HDR histograms, cheap to record).
 */
export interface GroupCommitTiming {
  /** from submit to the start of the item's batch, in µs */
  waitUs: RecordableHistogram;
  /** how long a batch took to write, in µs */
  runUs: RecordableHistogram;
  /** items per batch */
  size: RecordableHistogram;
}

export class GroupCommit<I, R> {
  private queue: Array<{ item: I; at: number; resolve: (r: R) => void; reject: (err: unknown) => void }> = [];
  private inFlight = 0;
  /** batches written, items in them, batches that failed as a whole (their items went one by one) */
  readonly stats = { batches: 0, items: 0, failed: 0 };
  readonly timing: GroupCommitTiming = {
    waitUs: createHistogram(),
    runUs: createHistogram(),
    size: createHistogram(),
  };
  private readonly drained = new Set<() => void>();

  constructor(
    private readonly opts: {
      /** writes a batch atomically (one statement, or inTransaction); one result per item, in order */
      run: (items: I[]) => Promise<Array<R | typeof ALONE>>;
      /** an item of a failed batch, on its own */
      alone: (item: I) => Promise<R>;
      /** after a batch committed (wakes the outbox relay) */
      committed?: () => void;
      /** a batch failed as a whole (its items then go one by one) */
      failed?: (err: unknown, size: number) => void;
      maxBatch?: number;
      maxInFlight?: number;
    },
  ) {}

  submit(item: I): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, at: performance.now(), resolve, reject });
      this.pump();
    });
  }

  /** Resolves once nothing is queued or being written. */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.add(resolve));
  }

  private pump(): void {
    const maxInFlight = this.opts.maxInFlight ?? 2;
    while (this.inFlight < maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch ?? 500);
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.inFlight === 0 && this.queue.length === 0) {
          for (const resolve of this.drained) resolve();
          this.drained.clear();
        }
      });
    }
  }

  private async flush(batch: GroupCommit<I, R>["queue"]): Promise<void> {
    let results: Array<R | typeof ALONE>;
    this.stats.batches++;
    this.stats.items += batch.length;
    const started = performance.now();
    for (const b of batch) this.timing.waitUs.record(Math.max(1, Math.round((started - b.at) * 1000)));
    this.timing.size.record(batch.length);
    try {
      results = await this.opts.run(batch.map((b) => b.item));
      this.timing.runUs.record(Math.max(1, Math.round((performance.now() - started) * 1000)));
    } catch (err) {
      this.stats.failed++;
      this.opts.failed?.(err, batch.length);
      // each on its own: the one that cannot be stored gets its own error, the others their answers
      await Promise.all(batch.map((b) => this.opts.alone(b.item).then(b.resolve, b.reject)));
      return;
    }
    this.opts.committed?.();
    for (const [i, b] of batch.entries()) {
      const result = results[i];
      if (result === ALONE) this.opts.alone(b.item).then(b.resolve, b.reject);
      else b.resolve(result as R);
    }
  }
}
