import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

const ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ0123456789"; // Crockford base32 without I, L, O, U: easy to read out

/**
 * A one-time password: 12 characters of Crockford's base32 (60 random bits), e.g. `K7QW3M9XT2BD`: the digits 0-9
 * and the letters but I, L, O and U (not RFC 4648 base32, whose digits are 2-7), so it reads out unambiguously.
 */
export function newOneTimePassword(length = 12): string {
  let out = "";
  for (const b of randomBytes(length)) out += ALPHABET[b & 31];
  return out;
}

/**
 * Case and spacing do not matter when the invitee types the password back, nor the letters Crockford's base32
 * reads as digits (O as 0; I and L as 1), since the password never contains those letters.
 */
export function normalizeOneTimePassword(otp: string): string {
  return otp.replace(/[\s-]/g, "").toUpperCase().replace(/O/g, "0").replace(/[IL]/g, "1");
}

const PARAMS = { N: 16_384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function derive(secret: string, salt: Buffer, params: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LENGTH, { ...params, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** `scrypt$N$r$p$<salt b64url>$<hash b64url>` with a fresh 16-byte salt; the password itself is not kept. */
export async function hashOneTimePassword(otp: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(normalizeOneTimePassword(otp), salt, PARAMS);
  return ["scrypt", PARAMS.N, PARAMS.r, PARAMS.p, salt.toString("base64url"), key.toString("base64url")].join(
    "$",
  );
}

/** A valid hash of nothing anyone knows: checked against when the invitation is unknown, to spend the same time. */
export const DECOY_HASH = `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${"A".repeat(22)}$${"A".repeat(43)}`;

/** Whether `otp` matches `stored` (constant-time comparison); a malformed hash never matches. */
export async function verifyOneTimePassword(otp: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  if (expected.length !== KEY_LENGTH) return false;
  const key = await derive(normalizeOneTimePassword(otp), Buffer.from(salt, "base64url"), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(key, expected);
}
