import type { IssuanceFrequency } from "@energy/contracts";

/**
 * Issuance windows. A reservation's windows follow its frequency on the calendar of its time zone (UTC
 * unless set): hours, days (local midnight), weeks starting Monday 00:00, calendar months, calendar
 * quarters (Jan, Apr, Jul, Oct). The first window starts at the reservation's start and the last ends at
 * its end, so either may be partial: a reservation from 10:30 to 13:15, hourly, has the windows
 * [10:30, 11:00), [11:00, 12:00), [12:00, 13:00), [13:00, 13:15). A read belongs to the window its end
 * falls in, a window [s, e) taking the reads with s < end ≤ e (a read of 10:00–11:00 is the 10:00 window's).
 */
export interface Window {
  start: Date;
  end: Date;
}

interface LocalParts {
  year: number;
  month: number; // 1–12
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number; // 1 = Monday … 7 = Sunday
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      weekday: "short",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function localParts(instant: Date, timeZone: string): LocalParts {
  if (timeZone === "UTC") {
    const d = instant;
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      weekday: ((d.getUTCDay() + 6) % 7) + 1,
    };
  }
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(instant)) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS[parts.weekday ?? "Mon"] ?? 1,
  };
}

/** The zone's offset from UTC at `instant`, in ms (local = UTC + offset). */
function offsetAt(instant: number, timeZone: string): number {
  if (timeZone === "UTC") return 0;
  const p = localParts(new Date(instant), timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant of a local wall time (Date.UTC-style fields, overflow allowed). A wall time that does not
 * exist (skipped by a DST change) maps to the instant after the gap; one that exists twice, to the first.
 */
function fromLocal(timeZone: string, y: number, mo: number, d = 1, h = 0): Date {
  const wall = Date.UTC(y, mo - 1, d, h);
  if (timeZone === "UTC") return new Date(wall);
  const guess = wall - offsetAt(wall, timeZone);
  const corrected = wall - offsetAt(guess, timeZone);
  return new Date(Math.max(guess, corrected));
}

/** The start of the calendar period of `frequency` that contains `instant` (not cut at any reservation). */
export function periodStart(instant: Date, frequency: IssuanceFrequency, timeZone: string): Date {
  const p = localParts(instant, timeZone);
  switch (frequency) {
    case "hourly": {
      // Hours of zones with a :30 or :45 offset start at :30/:45 UTC: take the local hour's instant.
      const start = fromLocal(timeZone, p.year, p.month, p.day, p.hour);
      return start.getTime() > instant.getTime() ? new Date(start.getTime() - 3_600_000) : start;
    }
    case "daily":
      return fromLocal(timeZone, p.year, p.month, p.day);
    case "weekly":
      return fromLocal(timeZone, p.year, p.month, p.day - (p.weekday - 1));
    case "monthly":
      return fromLocal(timeZone, p.year, p.month);
    case "quarterly":
      return fromLocal(timeZone, p.year, p.month - ((p.month - 1) % 3));
  }
}

/** The start of the calendar period after the one that starts at `periodStartAt`. */
export function nextPeriodStart(periodStartAt: Date, frequency: IssuanceFrequency, timeZone: string): Date {
  if (frequency === "hourly") return new Date(periodStartAt.getTime() + 3_600_000);
  const p = localParts(periodStartAt, timeZone);
  switch (frequency) {
    case "daily":
      return fromLocal(timeZone, p.year, p.month, p.day + 1);
    case "weekly":
      return fromLocal(timeZone, p.year, p.month, p.day + 7);
    case "monthly":
      return fromLocal(timeZone, p.year, p.month + 1);
    case "quarterly":
      return fromLocal(timeZone, p.year, p.month + 3);
  }
}

/** The reservation's window that starts at or contains `instant`, cut at the reservation's start and end. */
export function windowAt(
  instant: Date,
  reservation: { start: Date; end: Date; frequency: IssuanceFrequency; timezone: string },
): Window {
  const { start, end, frequency, timezone } = reservation;
  const from = periodStart(instant, frequency, timezone);
  const to = nextPeriodStart(from, frequency, timezone);
  return {
    start: new Date(Math.max(from.getTime(), start.getTime())),
    end: new Date(Math.min(to.getTime(), end.getTime())),
  };
}

/**
 * The windows of a reservation that start at or after `from` (a window boundary, or the reservation's
 * start) and have closed by `closedBy` (their end ≤ closedBy), in order; at most `limit`.
 */
export function closedWindows(
  reservation: { start: Date; end: Date; frequency: IssuanceFrequency; timezone: string },
  from: Date,
  closedBy: Date,
  limit = Number.POSITIVE_INFINITY,
): Window[] {
  const windows: Window[] = [];
  let cursor = new Date(Math.max(from.getTime(), reservation.start.getTime()));
  while (cursor < reservation.end && windows.length < limit) {
    const window = windowAt(cursor, reservation);
    if (window.end > closedBy) break;
    windows.push(window);
    cursor = window.end;
  }
  return windows;
}

/** Every window of a reservation, in order (for display and tests). */
export function allWindows(reservation: {
  start: Date;
  end: Date;
  frequency: IssuanceFrequency;
  timezone: string;
}): Window[] {
  return closedWindows(reservation, reservation.start, reservation.end);
}

/** Index into `windows` (sorted, contiguous) of the window a read ending at `readEnd` belongs to, or -1. */
export function windowIndexOfReadEnd(windows: readonly Window[], readEnd: Date): number {
  const t = readEnd.getTime();
  let lo = 0;
  let hi = windows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const w = windows[mid]!;
    if (t <= w.start.getTime()) hi = mid - 1;
    else if (t > w.end.getTime()) lo = mid + 1;
    else return mid;
  }
  return -1;
}
