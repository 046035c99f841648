/**
 * The pause of a background loop that polls: `sleep(ms)` resolves after `ms`, or at once when the loop is
 * nudged (new work was written). A nudge while the loop is busy is kept, so its next sleep returns at once
 * and no work written meanwhile waits a whole interval. `cancel()` ends a sleep in progress (for stop()).
 */
export class Wakeup {
  private wake: (() => void) | null = null;
  private woken = false;

  nudge(): void {
    this.woken = true;
    this.wake?.();
  }

  /** Ends the sleep in progress, if any, without keeping a nudge for the next one. */
  cancel(): void {
    this.wake?.();
  }

  sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
