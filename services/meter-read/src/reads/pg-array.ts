import { isoOf } from "../domain/iso.ts";

/**
 * PostgreSQL array literals built here, each sent as one parameter: pg's own encoding of a JS array quotes
 * and escapes every element, which for 10,000 reads × 12 columns per request cost more CPU than the
 * statement's work. Elements that need no quoting (numbers, ISO timestamps, hex, the usual ids) go as they
 * are; the rest are quoted as PostgreSQL's array input expects.
 *
 * A literal is the array's text as UTF-8 bytes (a Buffer), built from pieces of ARRAY_PIECE elements: a
 * JavaScript string over 128 KB is a V8 large object, each given its own mapping by the kernel and unmapped
 * after (page faults, TLB flushes): a 650 KB literal of 10,000 hashes took ~4 ms as one joined string, ~0.7 ms
 * as pieces copied into one buffer. A Buffer parameter goes to PostgreSQL in binary format, which for `text`
 * is exactly the text's bytes, so a statement reads a literal as text and casts it: `$1::text::timestamptz[]`.
 */
export type PgArrayLiteral = Buffer;

/** Elements per piece: at most ~66 KB of text for the longest of the service's own values (64-hex hashes). */
const ARRAY_PIECE = 1000;

function literal(n: number, element: (i: number) => string): PgArrayLiteral {
  if (n === 0) return Buffer.from("{}");
  const pieces: Buffer[] = [];
  for (let from = 0; from < n; from += ARRAY_PIECE) {
    const to = Math.min(n, from + ARRAY_PIECE);
    const parts = new Array<string>(to - from);
    for (let i = from; i < to; i++) parts[i - from] = element(i);
    pieces.push(Buffer.from(`${from === 0 ? "{" : ","}${parts.join(",")}${to === n ? "}" : ""}`, "utf8"));
  }
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}

const NEEDS_QUOTES = /["\\{},\s]|^$|^null$/i;

const quoted = (value: string): string =>
  NEEDS_QUOTES.test(value) ? `"${value.replace(/["\\]/g, "\\$&")}"` : value;

/** Any strings (a run of the same one, such as a device's id on its 1,000 reads, is looked at once). */
export function pgArray(values: ReadonlyArray<string | number | boolean | null>): PgArrayLiteral {
  let last: string | null = null;
  let lastQuoted = "";
  return literal(values.length, (i) => {
    const value = values[i]!;
    if (value === null) return "NULL";
    if (typeof value !== "string") return String(value);
    if (value !== last) {
      last = value;
      lastQuoted = quoted(value);
    }
    return lastQuoted;
  });
}

/**
 * Values that never need quoting: numbers, booleans, and strings the service made of `[A-Za-z0-9_-]` only
 * (read ids, read types and sources, hex hashes); null as NULL.
 */
export function pgPlainArray(values: ReadonlyArray<string | number | boolean | null>): PgArrayLiteral {
  return literal(values.length, (i) => {
    const value = values[i]!;
    return value === null ? "NULL" : String(value);
  });
}

/** Instants (ms since the epoch, or null) as a timestamptz[] literal. */
export function pgTimestamps(values: ReadonlyArray<number | null>): PgArrayLiteral {
  return literal(values.length, (i) => {
    const ms = values[i]!;
    return ms === null ? "NULL" : isoOf(ms);
  });
}
