/**
 * How many of the telemetry store's chunks are applied at once. The store has several consumers so that,
 * behind, the database works on one chunk while the next is fetched and decoded; but while it keeps up,
 * their transactions only come in bursts (each fetch wakes them together) that take the machine's cores from
 * the acknowledgements for a moment. So a chunk that is its partition's end, or nearly (fewer than
 * `backlog` messages after it when it was fetched), waits for the one in progress; a chunk with a backlog
 * behind it (the store is behind) goes at once, up to `concurrent` together. Waiting chunks go in arrival
 * order; a chunk that may go at once does not wait behind one that may not.
 */
export class ApplyGate {
  private active = 0;
  private readonly waiting: Array<{ limit: number; go: () => void }> = [];

  constructor(private readonly opts: { backlog: number; concurrent: number }) {}

  /** Runs `apply` for a chunk with `behind` messages of its partition after it, when the gate allows. */
  async run<T>(behind: number, apply: () => Promise<T>): Promise<T> {
    const limit = behind >= this.opts.backlog ? this.opts.concurrent : 1;
    if (this.active >= limit) await new Promise<void>((go) => this.waiting.push({ limit, go }));
    else this.active++;
    try {
      return await apply();
    } finally {
      this.release();
    }
  }

  /** Chunks in progress (for tests and metrics). */
  get inProgress(): number {
    return this.active;
  }

  private release() {
    this.active--;
    const next = this.waiting.findIndex((w) => this.active < w.limit);
    if (next < 0) return;
    const [w] = this.waiting.splice(next, 1);
    this.active++;
    w!.go();
  }
}
