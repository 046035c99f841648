import { keccak256, toUtf8Bytes } from "ethers";

/**
 * The canonical JSON of a value, as RFC 8785 (JSON Canonicalization Scheme) writes it for the values a
 * certificate document holds: object members sorted by key (UTF-16 code units), no whitespace, strings
 * and numbers as ECMAScript's JSON.stringify writes them; `undefined` members are left out. Only
 * finite numbers are allowed (JCS has no NaN or Infinity). The same document always gives the same bytes,
 * so anyone can recompute its hash.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON has no ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
}

/** keccak256 of the UTF-8 bytes of the canonical JSON, 0x-hex: the hash the chain keeps. */
export const documentHash = (document: unknown): string => keccak256(toUtf8Bytes(canonicalJson(document)));
