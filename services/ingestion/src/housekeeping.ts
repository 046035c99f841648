import type { Config } from "./config.ts";
import type { Db } from "./db.ts";
import { sweepLiveness } from "./liveness/sweep.ts";
import { maintainPartitions } from "./readings/partitions.ts";

/** The logger shape housekeeping needs (pino's, as app.log). */
export interface HousekeepingLog {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface HousekeepingDeps {
  db: Db;
  config: Pick<
    Config,
    "RAW_RETENTION_DAYS" | "STALE_AFTER_SECONDS" | "DISCONNECTED_AFTER_SECONDS" | "SWEEP_INTERVAL_SECONDS"
  >;
  /** wakes the outbox relay after a sweep that recorded events */
  published: () => void;
  log: HousekeepingLog;
}

export interface Housekeeping {
  /** Stops the loop; resolves once a run in progress has finished. */
  stop(): Promise<void>;
}

/**
 * Looks after the raw reading partitions at start, and then every SWEEP_INTERVAL_SECONDS sweeps device
 * liveness and looks after the partitions again. A failing job is logged and tried again on the next
 * run; runs never overlap.
 */
export function startHousekeeping(deps: HousekeepingDeps): Housekeeping {
  const { db, config, log } = deps;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  async function partitions() {
    try {
      const report = await maintainPartitions(db, {
        now: new Date(),
        retentionDays: config.RAW_RETENTION_DAYS,
        daysAhead: 2,
      });
      const { created, dropped, movedRows, prunedDefaultRows, prunedRejected } = report;
      if (created.length + dropped.length + prunedDefaultRows + prunedRejected > 0) {
        log.info(
          { created, dropped, movedRows, prunedDefaultRows, prunedRejected },
          "reading partitions maintained",
        );
      }
    } catch (err) {
      log.error({ err }, "reading partition maintenance failed; trying again on the next run");
    }
  }

  async function sweep() {
    try {
      const changes = await sweepLiveness(db, {
        now: new Date(),
        staleAfterMs: config.STALE_AFTER_SECONDS * 1000,
        disconnectedAfterMs: config.DISCONNECTED_AFTER_SECONDS * 1000,
      });
      if (changes.length === 0) return;
      deps.published();
      const count = (to: string) => changes.filter((c) => c.to === to).length;
      log.info({ stale: count("stale"), disconnected: count("disconnected") }, "devices went silent");
    } catch (err) {
      log.error({ err }, "liveness sweep failed; trying again on the next run");
    }
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      running = (async () => {
        await sweep();
        await partitions();
      })().finally(schedule);
    }, config.SWEEP_INTERVAL_SECONDS * 1000);
  }

  running = partitions().finally(schedule);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
