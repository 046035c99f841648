import {
  normalizeReading,
  type ReadingError,
  type TelemetryReading,
  validateReading,
} from "@energy/contracts";

/** The times a reading's own timestamp may fall within, relative to when it was received. */
export interface TimestampWindow {
  /** The earliest timestamp accepted (ms): before it no reading is plausible (MIN_READING_TIMESTAMP). */
  earliestMs: number;
  /** How far ahead of the receiving clock a timestamp may be (ms): device clocks drift. */
  futureToleranceMs: number;
}

export type ReadingCheck = { ok: true; reading: TelemetryReading } | { ok: false; reasons: ReadingError[] };

/**
 * Whether a gateway's reading is accepted, and then its normalized form. These are the rules that decide
 * what the telemetry store can store, so an accepted reading is always stored:
 * - the telemetry model of packages/contracts: units, types, bands; its text holds no NUL and no lone
 *   surrogate (PostgreSQL text and jsonb refuse them) and is at most TEXT_MAX_LENGTH long;
 * - a timestamp within [earliest, receivedAt + tolerance]: in the range of timestamptz, and plausible.
 * Fields are named as the item holds them (`reading.W`, `reading.timestamp`).
 */
export function checkReading(reading: unknown, receivedAtMs: number, window: TimestampWindow): ReadingCheck {
  const validation = validateReading(reading);
  if (!validation.ok) {
    return {
      ok: false,
      reasons: validation.errors.map((e) => ({ field: `reading.${e.field}`, message: e.message })),
    };
  }
  const { timestamp } = validation.reading;
  if (timestamp < window.earliestMs) {
    const at = new Date(timestamp).toISOString();
    const earliest = new Date(window.earliestMs).toISOString();
    return {
      ok: false,
      reasons: [
        {
          field: "reading.timestamp",
          message: `reading.timestamp ${timestamp} (${at}) is before ${earliest}: no reading from before then is accepted (is the device's clock set?)`,
        },
      ],
    };
  }
  if (timestamp > receivedAtMs + window.futureToleranceMs) {
    const ahead = Math.round((timestamp - receivedAtMs) / 1000);
    return {
      ok: false,
      reasons: [
        {
          field: "reading.timestamp",
          message: `reading.timestamp is ${ahead} s in the future (at most ${window.futureToleranceMs / 1000} s ahead of the server clock is accepted)`,
        },
      ],
    };
  }
  return { ok: true, reading: normalizeReading(validation.reading) };
}
