/** Deeper than this, a refused item's raw value is cut (nothing a gateway sends rightly nests so deep). */
const MAX_DEPTH = 32;
/** A longer string of a refused item is kept as its first characters and its length. */
const MAX_STRING = 1_000;
/** A refused item whose JSON is longer than this is kept as an excerpt of its JSON text. */
const MAX_JSON = 16_384;
const LONE_SURROGATE = /\p{Cs}/gu;

const storableText = (s: string) => s.replaceAll("\u0000", "\ufffd").replace(LONE_SURROGATE, "\ufffd");

function sanitize(value: unknown, depth: number): unknown {
  if (typeof value === "string") {
    const kept =
      value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… (${value.length} characters)` : value;
    return storableText(kept);
  }
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_DEPTH) return "…";
  if (Array.isArray(value)) return value.map((v) => sanitize(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value))
    out[storableText(key.slice(0, MAX_STRING))] = sanitize(v, depth + 1);
  return out;
}

/**
 * A refused item as it can be kept in a jsonb column and a Kafka message, whatever the gateway sent: NUL
 * characters and lone surrogates (which jsonb refuses, and for which the item was likely refused) become
 * U+FFFD in strings and keys, long strings are cut, nesting beyond MAX_DEPTH becomes "…", and an item whose
 * JSON is still longer than MAX_JSON becomes `{ excerpt, length }` (its first MAX_JSON characters). The
 * refusal keeps the item recognisable, and storing or publishing the refusal cannot fail because of it.
 */
export function storableJson(value: unknown): unknown {
  const kept = sanitize(value ?? null, 0);
  const json = JSON.stringify(kept);
  if (json.length <= MAX_JSON) return kept;
  return { excerpt: storableText(json.slice(0, MAX_JSON)), length: json.length };
}
