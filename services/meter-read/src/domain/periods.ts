import { localToUtc, offsetMs } from "./zoned.ts";

export const PERIODS = ["hour", "day", "week", "month", "year"] as const;
export type Period = (typeof PERIODS)[number];

const DAY_MS = 86_400_000;

/** The wall clock of an instant in a zone, as a UTC-based Date (read it with getUTC…). */
const wall = (ms: number, tz: string) => new Date(ms + offsetMs(tz, ms));

/** The local start of the period that contains `ms` (as a wall clock read as UTC). */
function periodStartWall(period: "week" | "month" | "year", ms: number, tz: string): number {
  const w = wall(ms, tz);
  const y = w.getUTCFullYear();
  if (period === "year") return Date.UTC(y, 0, 1);
  if (period === "month") return Date.UTC(y, w.getUTCMonth(), 1);
  const day = Date.UTC(y, w.getUTCMonth(), w.getUTCDate());
  return day - ((w.getUTCDay() + 6) % 7) * DAY_MS; // weeks start on Monday
}

function nextWall(period: "week" | "month" | "year", wallMs: number): number {
  const w = new Date(wallMs);
  if (period === "year") return Date.UTC(w.getUTCFullYear() + 1, 0, 1);
  if (period === "month") return Date.UTC(w.getUTCFullYear(), w.getUTCMonth() + 1, 1);
  return wallMs + 7 * DAY_MS;
}

export interface PeriodSpan {
  /** The period's start (UTC instant): the bucket's name. */
  startMs: number;
  /** The part of [from, to) inside the period. */
  fromMs: number;
  toMs: number;
  /** The whole UTC days inside [fromMs, toMs): read from the day rollup; the rest from the reads. */
  daysFromMs: number;
  daysToMs: number;
}

/**
 * The weeks, months or years of a zone that [fromMs, toMs) touches, each with the whole UTC days inside it
 * (a month in Stockholm starts at 22:00 or 23:00 UTC: those hours come from the reads, the days between
 * from the rollup).
 */
export function periodSpans(
  period: "week" | "month" | "year",
  tz: string,
  fromMs: number,
  toMs: number,
): PeriodSpan[] {
  const spans: PeriodSpan[] = [];
  let wallStart = periodStartWall(period, fromMs, tz);
  for (let guard = 0; guard < 100_000; guard++) {
    const startMs = localToUtc(wallStart, tz);
    if (startMs >= toMs) break;
    const wallNext = nextWall(period, wallStart);
    const endMs = localToUtc(wallNext, tz);
    const s = Math.max(startMs, fromMs);
    const e = Math.min(endMs, toMs);
    if (e > s) {
      let daysFromMs = Math.ceil(s / DAY_MS) * DAY_MS;
      let daysToMs = Math.floor(e / DAY_MS) * DAY_MS;
      if (daysFromMs >= daysToMs) daysFromMs = daysToMs = e;
      spans.push({ startMs, fromMs: s, toMs: e, daysFromMs, daysToMs });
    }
    wallStart = wallNext;
  }
  return spans;
}
