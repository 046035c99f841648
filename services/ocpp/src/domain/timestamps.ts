/**
 * Charger timestamps: any valid ISO 8601 / RFC 3339 date-time (offsets, no milliseconds, a lower-case
 * `z`) is accepted; both the charger's time and the receive time are kept. A charger whose clock is off by
 * more than the tolerance (typically a charger that booted at 1970-01-01 before it got the time) is
 * flagged as skewed, and its readings are placed at the receive time rather than at its own.
 */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$/;

/** The instant a charger's timestamp names, or null when it is not a valid date-time with a zone. */
export function parseChargerTime(text: string | undefined | null): Date | null {
  if (typeof text !== "string") return null;
  const match = DATE_TIME.exec(text.trim());
  if (!match) return null;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
    return null;
  }
  const offset =
    zone!.toUpperCase() === "Z" ? "Z" : zone!.includes(":") ? zone : `${zone!.slice(0, 3)}:${zone!.slice(3)}`;
  const millis = fraction ? `.${fraction.slice(1, 4).padEnd(3, "0")}` : "";
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s === "60" ? "59" : s}${millis}${offset}`);
  if (Number.isNaN(date.getTime())) return null;
  // Reject dates that do not exist (2026-02-30 would roll over into March).
  const check = new Date(Date.UTC(Number(y), month - 1, day));
  if (check.getUTCMonth() !== month - 1) return null;
  return date;
}

export interface ChargerTime {
  /** What the charger said. */
  chargerTime: Date;
  receivedAt: Date;
  /** chargerTime - receivedAt in ms when beyond the tolerance; null when the clock is fine. */
  skewMs: number | null;
  /** The time to place the event at: the charger's, or the receive time when its clock is skewed. */
  effective: Date;
}

/**
 * Pairs a charger's time with the receive time. Messages a charger queued while offline carry past
 * times on purpose, so only a charger time in the future, or before the charger's boot era (before
 * 2000: a clock never set), counts as skew; a merely old time is a queued message, kept as it is.
 */
export function chargerTime(
  text: string | undefined | null,
  receivedAt: Date,
  toleranceMs: number,
): ChargerTime {
  const parsed = parseChargerTime(text) ?? receivedAt;
  const delta = parsed.getTime() - receivedAt.getTime();
  const unset = parsed.getUTCFullYear() < 2000;
  const skewed = unset || delta > toleranceMs;
  return {
    chargerTime: parsed,
    receivedAt,
    skewMs: skewed ? delta : null,
    effective: skewed ? receivedAt : parsed,
  };
}

/** The skew of a clock that reports `text` now (BootNotification, Heartbeat): either direction counts. */
export function clockSkewMs(
  text: string | undefined | null,
  receivedAt: Date,
  toleranceMs: number,
): number | null {
  const parsed = parseChargerTime(text);
  if (!parsed) return null;
  const delta = parsed.getTime() - receivedAt.getTime();
  return Math.abs(delta) > toleranceMs ? delta : null;
}
