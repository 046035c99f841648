import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** scrypt cost: N=2^14, r=8, p=1 (16 MiB, ~40 ms here): slow for a guesser, fine for one upgrade. */
const N = 16_384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function derive(password: Buffer, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `scrypt$N$r$p$salt$hash` (base64): the parameters travel with the hash so they can be raised later. */
export async function hashPassword(password: string | Buffer): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(Buffer.from(password), salt, N, R, P);
  return ["scrypt", N, R, P, salt.toString("base64"), key.toString("base64")].join("$");
}

/** Whether `password` matches `stored`, in constant time; a malformed stored value never matches. */
export async function verifyPassword(password: string | Buffer, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const key = await derive(
    Buffer.from(password),
    Buffer.from(salt, "base64"),
    Number(n),
    Number(r),
    Number(p),
  );
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * OCPP security profile 1/2 passwords (OCPP 1.6 security whitepaper, 2.0.1 BasicAuthPassword): 16 to 40
 * characters. Printable ASCII only, so a charger can be configured with it.
 */
export const PASSWORD_RULE = /^[\x21-\x7e]{16,40}$/;
