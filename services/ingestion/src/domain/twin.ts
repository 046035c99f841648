import type { TelemetryReading } from "@energy/contracts";

/** One field of a digital twin: its latest value and when it was read (the reading's own time, ISO). */
export type TwinField = { value: unknown; at: string };
export type TwinFields = Record<string, TwinField>;

/** Fields of a reading that describe the reading rather than the DER. */
const NOT_STATE = new Set(["type", "timestamp", "read_time_ms"]);

/**
 * The twin after readings given in time order (oldest first). Every field a reading has a value for replaces
 * the twin's, unless the twin already holds a newer value of it (readings may arrive out of order); of
 * readings at the same time, the later one in the list wins. A field no reading read (null or absent)
 * keeps its last known value and time. Changes `next` in place and returns it.
 *
 * The result is that of merging the readings one by one, oldest first, but each field is written once: the
 * newest reading is looked at first, and a field it settled is not looked at again in older ones, so a
 * DER's chunk of readings costs about one reading's merge, not one per reading.
 */
export function mergeNewest(next: TwinFields, readings: readonly TelemetryReading[]): TwinFields {
  const set = new Set<string>();
  for (let i = readings.length - 1; i >= 0; i--) {
    const reading = readings[i]!;
    let at: string | undefined;
    for (const name in reading) {
      if (set.has(name)) continue;
      const value = (reading as Record<string, unknown>)[name];
      if (value === null || value === undefined || NOT_STATE.has(name)) continue;
      at ??= new Date(reading.timestamp).toISOString();
      set.add(name);
      const known = next[name];
      // an older reading of the same field cannot be newer than the twin either: the field is settled
      if (known && known.at > at) continue;
      next[name] = { value, at };
    }
  }
  return next;
}

/** The value and time (ms) of a numeric field of the twin, if it has one. */
export function twinCounter(fields: TwinFields, name: string): { at: number; value: number } | undefined {
  const field = fields[name];
  if (!field || typeof field.value !== "number") return undefined;
  return { at: Date.parse(field.at), value: field.value };
}
