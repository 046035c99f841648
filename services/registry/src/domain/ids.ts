import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

/** A new prefixed id, e.g. `org-3k9v0x1f7q2m`: 60 random bits, readable and URL-safe. */
export function newId(prefix: "org" | "sit" | "der" | "usr" | "adm" | "zap" | "dev" | "int"): string {
  const bytes = randomBytes(12);
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 31];
  return `${prefix}-${out}`;
}
