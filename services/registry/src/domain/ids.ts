import { randomBytes } from "node:crypto";
import type { IdentityType } from "@energy/contracts";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

type Prefix = "org" | "sit" | "der" | "usr" | "adm" | "zap" | "dev" | "int" | "key" | "inv" | "grp" | "cmy";

/** A new prefixed id, e.g. `org-3k9v0x1f7q2m`: 60 random bits, readable and URL-safe. */
export function newId(prefix: Prefix): string {
  const bytes = randomBytes(12);
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 31];
  return `${prefix}-${out}`;
}

/** The one root identity's id (created from ROOT_PUBLIC_KEY, never through the API). */
export const ROOT_IDENTITY_ID = "root";

const IDENTITY_PREFIX = {
  user: "usr",
  admin: "adm",
  gateway: "zap",
  device: "dev",
  integration: "int",
} as const satisfies Record<Exclude<IdentityType, "root">, Prefix>;

/** A new id for an identity of `type`: `usr-…`, `adm-…`, `zap-…` (gateway), `dev-…`, `int-…`. */
export function newIdentityId(type: Exclude<IdentityType, "root">): string {
  return newId(IDENTITY_PREFIX[type]);
}
