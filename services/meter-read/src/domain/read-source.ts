import type { ReadSource } from "@energy/contracts";

/**
 * Where a device's reads come from over time: `initial` (set by its first stored read) until its first
 * switch, then each switch's source from its `fromMs` (in order) until the next. A read is accepted only
 * from the source in force over its whole period.
 */
export interface SourceLog {
  initial: ReadSource | null;
  switches: ReadonlyArray<{ fromMs: number; source: ReadSource }>;
}

/** The source in force at `ms` (null: none yet, the first stored read decides). */
export function sourceAt(log: SourceLog, ms: number): ReadSource | null {
  let source = log.initial;
  for (const s of log.switches) {
    if (s.fromMs > ms) break;
    source = s.source;
  }
  return source;
}

/**
 * Why a read of `source` over [startMs, endMs) is not the device's (null when it is): another source is
 * in force at its start, or a switch falls inside the period (its energy would belong to two sources).
 * A starting point (a first delta/aggregate entry) is the instant startMs = endMs.
 */
export function sourceMismatch(
  log: SourceLog,
  source: ReadSource,
  startMs: number,
  endMs: number,
): string | null {
  const inForce = sourceAt(log, startMs);
  if (inForce !== null && inForce !== source)
    return `the device's reads ${log.switches.length > 0 ? "for this period " : ""}come from ${inForce}, not ${source}`;
  const crossed = log.switches.find((s) => s.fromMs > startMs && s.fromMs < endMs);
  if (crossed)
    return `the period crosses the switch to ${crossed.source} reads at ${new Date(crossed.fromMs).toISOString()}`;
  return null;
}

export type SwitchRefusal = "switch_before_stored_read" | "switch_not_after_last_switch" | "source_unchanged";

/**
 * Whether a switch to `source` from `fromMs` may be made: never back into periods with stored reads
 * (`latestEndMs`, the end of the device's latest read), nor before or at its last switch, and only to a
 * source that is not already in force then. The same switch again is `same` (answered as before).
 */
export function checkSwitch(
  log: SourceLog,
  latestEndMs: number | null,
  source: ReadSource,
  fromMs: number,
): { ok: true; same: boolean } | { ok: false; code: SwitchRefusal; message: string } {
  const last = log.switches[log.switches.length - 1];
  if (last && last.fromMs === fromMs && last.source === source) return { ok: true, same: true };
  const iso = (ms: number) => new Date(ms).toISOString();
  if (latestEndMs !== null && fromMs < latestEndMs) {
    return {
      ok: false,
      code: "switch_before_stored_read",
      message: `the device has a read ending ${iso(latestEndMs)}; a switch can only start at or after it`,
    };
  }
  if (last && fromMs <= last.fromMs) {
    return {
      ok: false,
      code: "switch_not_after_last_switch",
      message: `the device switched to ${last.source} at ${iso(last.fromMs)}; a new switch must start after it`,
    };
  }
  const inForce = sourceAt(log, fromMs);
  if (inForce === source) {
    return { ok: false, code: "source_unchanged", message: `the device's reads already come from ${source}` };
  }
  return { ok: true, same: false };
}
