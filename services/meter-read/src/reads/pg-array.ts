import { isoOf } from "../domain/iso.ts";

/**
 * PostgreSQL array literals built here, sent as one text parameter each (`$1::timestamptz[]`): pg's own
 * encoding of a JS array quotes and escapes every element, which for 10,000 reads × 12 columns per request
 * cost more CPU than the statement's work. Elements that need no quoting (numbers, ISO timestamps, hex,
 * the usual ids) go as they are; the rest are quoted as PostgreSQL's array input expects.
 */
const NEEDS_QUOTES = /["\\{},\s]|^$|^null$/i;

const quoted = (value: string): string =>
  NEEDS_QUOTES.test(value) ? `"${value.replace(/["\\]/g, "\\$&")}"` : value;

/** Any strings (a run of the same one, such as a device's id on its 1,000 reads, is looked at once). */
export function pgArray(values: ReadonlyArray<string | number | boolean | null>): string {
  const parts = new Array<string>(values.length);
  let last: string | null = null;
  let lastQuoted = "";
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (value === null) parts[i] = "NULL";
    else if (typeof value !== "string") parts[i] = String(value);
    else {
      if (value !== last) {
        last = value;
        lastQuoted = quoted(value);
      }
      parts[i] = lastQuoted;
    }
  }
  return `{${parts.join(",")}}`;
}

/**
 * Values that never need quoting: numbers, booleans, and strings the service made of `[A-Za-z0-9_-]` only
 * (read ids, read types and sources, hex hashes); null as NULL.
 */
export function pgPlainArray(values: ReadonlyArray<string | number | boolean | null>): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    parts[i] = value === null ? "NULL" : String(value);
  }
  return `{${parts.join(",")}}`;
}

/** Instants (ms since the epoch, or null) as a timestamptz[] literal. */
export function pgTimestamps(values: ReadonlyArray<number | null>): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const ms = values[i]!;
    parts[i] = ms === null ? "NULL" : isoOf(ms);
  }
  return `{${parts.join(",")}}`;
}
