import type { TelemetryReading } from "@energy/contracts";

/** One field of a digital twin: its latest value and when it was read (the reading's own time, ISO). */
export type TwinField = { value: unknown; at: string };
export type TwinFields = Record<string, TwinField>;

/** Fields of a reading that describe the reading rather than the DER. */
const NOT_STATE = new Set(["type", "timestamp", "read_time_ms"]);

/**
 * The twin after a reading: every field the reading has a value for replaces the twin's, unless the
 * twin already holds a newer value of it (readings may arrive out of order). A field the reading did
 * not read (null or absent) keeps its last known value and time. Changes `next` in place and returns it
 * (the store copies a twin once for all of a DER's readings in a chunk).
 */
export function mergeInto(next: TwinFields, reading: TelemetryReading): TwinFields {
  const at = new Date(reading.timestamp).toISOString();
  for (const [name, value] of Object.entries(reading)) {
    if (value === null || value === undefined || NOT_STATE.has(name)) continue;
    const known = next[name];
    if (known && known.at > at) continue;
    next[name] = { value, at };
  }
  return next;
}

/** The value and time (ms) of a numeric field of the twin, if it has one. */
export function twinCounter(fields: TwinFields, name: string): { at: number; value: number } | undefined {
  const field = fields[name];
  if (!field || typeof field.value !== "number") return undefined;
  return { at: Date.parse(field.at), value: field.value };
}
