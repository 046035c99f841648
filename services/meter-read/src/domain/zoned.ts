/** Time-zone arithmetic on IANA zones with Intl (no library): offsets, local times to UTC. */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Longer than any IANA zone name (the longest are ~32 characters): an input bound, not a rule. */
export const TIME_ZONE_MAX_LENGTH = 64;

/** true for a zone Intl knows (e.g. Europe/Stockholm, UTC). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

const offsets = new Map<string, number>();
const MAX_OFFSETS = 50_000;

/**
 * The zone's offset from UTC at the instant `utcMs`, in ms (Stockholm in summer: +7,200,000). Remembered
 * per zone and instant: the period boundaries of energy queries are the same instants request after
 * request, and Intl's formatToParts is the slow part of answering them.
 */
export function offsetMs(timeZone: string, utcMs: number): number {
  const key = `${timeZone}|${utcMs}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    offset = computeOffsetMs(timeZone, utcMs);
    if (offsets.size >= MAX_OFFSETS) offsets.clear();
    offsets.set(key, offset);
  }
  return offset;
}

function computeOffsetMs(timeZone: string, utcMs: number): number {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(utcMs))
      .map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return asUtc - (utcMs - (((utcMs % 1000) + 1000) % 1000));
}

/**
 * The UTC instant of a wall-clock time in a zone (`localMs` is the wall clock read as if it were UTC):
 * a first guess with the offset at that instant, corrected once with the offset at the guess.
 */
export function localToUtc(localMs: number, timeZone: string): number {
  const guess = localMs - offsetMs(timeZone, localMs);
  return localMs - offsetMs(timeZone, guess);
}

/** The instant a calendar date (YYYY-MM-DD) begins in a zone. */
export function startOfDate(date: string, timeZone: string): number {
  return localToUtc(Date.parse(`${date}T00:00:00Z`), timeZone);
}
