/** Windows and calendar periods asked for by the read APIs: pure, checked before any query. */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** A bad query parameter: the parameter and what is wrong with it. */
export type ParamProblem = { field: string; message: string };
type Checked<T> = { ok: true; value: T } | { ok: false; problem: ParamProblem };
const problem = (field: string, message: string): { ok: false; problem: ParamProblem } => ({
  ok: false,
  problem: { field, message },
});

// ---- a look-back window such as 30m, 6h, 7d ----------------------------------------------------------

export const WITHIN_PATTERN = /^(\d{1,4})([mhd])$/;
const UNIT_MS = { m: MINUTE_MS, h: HOUR_MS, d: DAY_MS } as const;
export const MAX_WITHIN_MS = 90 * DAY_MS;

/** `30m`, `6h`, `7d` in ms: more than 0, at most 90 days. */
export function parseWithin(text: string, field = "within"): Checked<number> {
  const match = WITHIN_PATTERN.exec(text);
  if (!match) return problem(field, `${field} must be a number of minutes, hours or days, e.g. 30m, 6h, 7d`);
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (ms <= 0) return problem(field, `${field} must be longer than 0`);
  if (ms > MAX_WITHIN_MS) return problem(field, `${field} must be at most 90d`);
  return { ok: true, value: ms };
}

// ---- a window of instants (half-hourly intervals) ----------------------------------------------------

export const DEFAULT_WINDOW_MS = DAY_MS;
export const MAX_WINDOW_MS = 31 * DAY_MS;

/**
 * The window [from, to) asked for: `to` defaults to now and `from` to 24 hours before `to`; from must
 * be before to, and the window at most 31 days. Times are ISO strings (already checked as such).
 */
export function timeWindow(
  query: { from?: string; to?: string },
  now: number,
): Checked<{ from: number; to: number }> {
  const to = query.to === undefined ? now : Date.parse(query.to);
  const from = query.from === undefined ? to - DEFAULT_WINDOW_MS : Date.parse(query.from);
  if (from >= to) {
    return query.to === undefined
      ? problem("from", "from must be before to (which defaults to now)")
      : problem("to", "to must be after from");
  }
  if (to - from > MAX_WINDOW_MS) {
    return problem(query.to === undefined ? "from" : "to", "from and to must be at most 31 days apart");
  }
  return { ok: true, value: { from, to } };
}

// ---- calendar days and months (YYYY-MM-DD, in a site's time zone) -----------------------------------

export type Granularity = "day" | "month";

/** A calendar date as days since 1970-01-01 (calendar arithmetic only: no time zone is involved). */
const dayNumber = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY_MS;
const dateOf = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** Whether `text` is a real calendar date written YYYY-MM-DD (2026-02-30 is not). */
export function isCalendarDate(text: string): boolean {
  return (
    /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(dayNumber(text)) && dateOf(dayNumber(text)) === text
  );
}

export const addDays = (date: string, days: number): string => dateOf(dayNumber(date) + days);

/** The first day of the month `months` after the month of `date` (negative: before). */
export function addMonths(date: string, months: number): string {
  const [year, month] = date.split("-").map(Number) as [number, number];
  const index = year * 12 + (month - 1) + months;
  return `${String(Math.floor(index / 12)).padStart(4, "0")}-${String((index % 12) + 1).padStart(2, "0")}-01`;
}

export const monthStart = (date: string): string => `${date.slice(0, 7)}-01`;

/** Today's date in a time zone (IANA), e.g. 2026-11-24 in Pacific/Auckland while it is the 23rd in UTC. */
export function todayIn(timeZone: string, now: number): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  })
    .formatToParts(new Date(now))
    .reduce<Record<string, string>>((acc, part) => Object.assign(acc, { [part.type]: part.value }), {});
  return `${parts["year"]}-${parts["month"]}-${parts["day"]}`;
}

export const MAX_DAYS = 366;
export const MAX_MONTHS = 36;

/**
 * The calendar range of a rollup: from and to are dates, both included. By day the default is the 31
 * days up to today, by month the 12 months up to this one; a month range covers the whole months of
 * from and to. `until` is the day after the last day (exclusive end).
 */
export function calendarRange(
  query: { granularity: Granularity; from?: string; to?: string },
  today: string,
): Checked<{ from: string; to: string; until: string }> {
  for (const field of ["from", "to"] as const) {
    const value = query[field];
    if (value !== undefined && !isCalendarDate(value))
      return problem(field, `${field} must be a date, YYYY-MM-DD`);
  }
  if (query.granularity === "day") {
    const to = query.to ?? today;
    const from = query.from ?? addDays(to, -30);
    if (from > to) return problem(query.to === undefined ? "from" : "to", "to must not be before from");
    if (dayNumber(to) - dayNumber(from) + 1 > MAX_DAYS) {
      return problem(
        query.to === undefined ? "from" : "to",
        `a daily rollup covers at most ${MAX_DAYS} days`,
      );
    }
    return { ok: true, value: { from, to, until: addDays(to, 1) } };
  }
  const to = query.to ?? today;
  const asked = query.from ?? addMonths(to, -11);
  if (asked > to) return problem(query.to === undefined ? "from" : "to", "to must not be before from");
  const from = monthStart(asked);
  const until = addMonths(to, 1);
  const months = monthIndex(until) - monthIndex(from);
  if (months > MAX_MONTHS) {
    return problem(
      query.to === undefined ? "from" : "to",
      `a monthly rollup covers at most ${MAX_MONTHS} months`,
    );
  }
  return { ok: true, value: { from, to: addDays(until, -1), until } };
}

const monthIndex = (date: string) => Number(date.slice(0, 4)) * 12 + Number(date.slice(5, 7)) - 1;
