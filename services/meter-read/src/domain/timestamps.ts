import { isTimeZone, localToUtc } from "./zoned.ts";

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})?$/;

/** The digits at `at`..`at + n` as a number, or -1 when one is not a digit. */
function digits(text: string, at: number, n: number): number {
  let value = 0;
  for (let i = at; i < at + n; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.sssZ` as ms since the epoch; null for anything else. */
function fastUtc(text: string): number | null {
  const n = text.length;
  if ((n !== 20 && n !== 24) || text.charCodeAt(n - 1) !== 90 /* Z */) return null;
  if (text[4] !== "-" || text[7] !== "-" || text[10] !== "T" || text[13] !== ":" || text[16] !== ":")
    return null;
  const y = digits(text, 0, 4);
  const mo = digits(text, 5, 2);
  const d = digits(text, 8, 2);
  const h = digits(text, 11, 2);
  const mi = digits(text, 14, 2);
  const sec = digits(text, 17, 2);
  let frac = 0;
  if (n === 24) {
    if (text[19] !== ".") return null;
    frac = digits(text, 20, 3);
  }
  if (
    y < 1000 ||
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    h < 0 ||
    h > 23 ||
    mi < 0 ||
    mi > 59 ||
    sec < 0 ||
    sec > 59 ||
    frac < 0
  )
    return null;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (mo === 2 && !leap ? 28 : DAYS_IN_MONTH[mo - 1]!)) return null;
  return Date.UTC(y, mo - 1, d, h, mi, sec, frac);
}

export type ParsedTime = { ok: true; ms: number } | { ok: false; message: string };

/**
 * A read's timestamp: ISO 8601 with an offset (`2020-01-01T00:00:00Z`, `…+05:30`), or a local time
 * without one (`2020-01-01T00:00:00`) read in the batch's `timezone`. A local time without a time zone
 * is refused rather than guessed: the same digits are different hours in different zones.
 */
export function parseTimestamp(text: string, timezone: string | undefined): ParsedTime {
  // The common case first (10,000 reads a request): UTC as toISOString writes it, with or without its
  // milliseconds, read digit by digit (anything else, or a day the month does not have, takes the long way).
  const fast = fastUtc(text);
  if (fast !== null) return { ok: true, ms: fast };
  const m = ISO.exec(text);
  if (!m) return { ok: false, message: `"${text}" is not an ISO 8601 date-time (e.g. 2020-01-01T00:00:00Z)` };
  const [, y, mo, d, h, mi, s = "0", frac = "0", offset] = m;
  const local = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
    Number(frac.padEnd(3, "0")),
  );
  const back = new Date(local);
  if (
    back.getUTCFullYear() !== Number(y) ||
    back.getUTCMonth() !== Number(mo) - 1 ||
    back.getUTCDate() !== Number(d) ||
    back.getUTCHours() !== Number(h) ||
    back.getUTCMinutes() !== Number(mi) ||
    back.getUTCSeconds() !== Number(s)
  ) {
    return { ok: false, message: `"${text}" is not a valid date-time` };
  }
  if (offset === "Z") return { ok: true, ms: local };
  if (offset) {
    const sign = offset[0] === "-" ? -1 : 1;
    const [oh, om] = offset.slice(1).split(":").map(Number) as [number, number];
    if (oh > 23 || om > 59) return { ok: false, message: `"${text}" has an invalid offset` };
    return { ok: true, ms: local - sign * (oh * 60 + om) * 60_000 };
  }
  if (timezone === undefined) {
    return {
      ok: false,
      message: `"${text}" has no offset: add one (Z, +01:00) or give the batch a timezone`,
    };
  }
  if (!isTimeZone(timezone)) return { ok: false, message: `unknown time zone "${timezone}"` };
  return { ok: true, ms: localToUtc(local, timezone) };
}
