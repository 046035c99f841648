import { isTimeZone, localToUtc } from "./zoned.ts";

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})?$/;

export type ParsedTime = { ok: true; ms: number } | { ok: false; message: string };

/**
 * A read's timestamp: ISO 8601 with an offset (`2020-01-01T00:00:00Z`, `…+05:30`), or a local time
 * without one (`2020-01-01T00:00:00`) read in the batch's `timezone`. A local time without a time zone
 * is refused rather than guessed: the same digits are different hours in different zones.
 */
export function parseTimestamp(text: string, timezone: string | undefined): ParsedTime {
  // The common case first (10,000 reads a request): UTC as toISOString writes it.
  if (text.length === 24 && text.charCodeAt(23) === 90 /* Z */) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms) && new Date(ms).toISOString() === text) return { ok: true, ms };
  }
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
