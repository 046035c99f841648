import { isoOf } from "../domain/iso.ts";

/**
 * PostgreSQL array literals built here, sent as one text parameter each (`$1::timestamptz[]`): pg's own
 * encoding of a JS array quotes and escapes every element, which for 10,000 reads × 10 columns per request
 * cost more CPU than the statement's work. Elements that need no quoting (numbers, ISO timestamps, hex,
 * the usual ids) go as they are; the rest are quoted as PostgreSQL's array input expects.
 */
const NEEDS_QUOTES = /["\\{},\s]|^$|^null$/i;

const element = (value: string | number | boolean | null): string => {
  if (value === null) return "NULL";
  if (typeof value !== "string") return String(value);
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/["\\]/g, "\\$&")}"` : value;
};

export function pgArray(values: ReadonlyArray<string | number | boolean | null>): string {
  return `{${values.map(element).join(",")}}`;
}

/** Instants (ms since the epoch, or null) as a timestamptz[] literal. */
export function pgTimestamps(values: ReadonlyArray<number | null>): string {
  return `{${values.map((ms) => (ms === null ? "NULL" : isoOf(ms))).join(",")}}`;
}
