/**
 * Login keys: reading a private key file and signing the registry's challenge with it. People sign with
 * Ed25519, machines (gateways, devices, integrations) with ES256 (ECDSA on P-256 with SHA-256).
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign } from "node:crypto";

export type LoginAlgorithm = "Ed25519" | "ES256";

/** A private key that cannot be used to log in; the message says what was found and what is expected. */
export class KeyFileError extends Error {
  override readonly name = "KeyFileError";
}

const EXPECTED =
  "expected an Ed25519 (people) or ES256/P-256 (machines) private key: a PEM (PKCS#8 `PRIVATE KEY` or " +
  "SEC1 `EC PRIVATE KEY`), a JWK with `d`, or an Ed25519 32-byte seed in hex or base64";

// PKCS#8 DER of an Ed25519 key before its 32-byte seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * The private key in `input` (a key file's content). Reads PEM (PKCS#8, as tools/dev.ts and the simulators
 * write them, or SEC1 for P-256 as `openssl ecparam -genkey` writes), a JWK (JSON with `d`), or a raw
 * Ed25519 seed (32 bytes as hex, base64 or base64url, as @noble/ed25519 makes). Throws KeyFileError.
 */
export function readPrivateKey(input: string | Buffer): KeyObject {
  const text = (typeof input === "string" ? input : input.toString("utf8")).trim();
  if (text.length === 0) throw new KeyFileError(`the key is empty; ${EXPECTED}`);
  let key: KeyObject;
  if (text.includes("-----BEGIN")) {
    if (/-----BEGIN (ENCRYPTED|OPENSSH) PRIVATE KEY-----/.test(text)) {
      throw new KeyFileError(
        "an encrypted or OpenSSH-format key: write it as an unencrypted PKCS#8 PEM first " +
          "(e.g. `openssl pkey -in key.pem -out plain.pem`, or `ssh-keygen -p -m PKCS8 -f key`)",
      );
    }
    if (!/-----BEGIN (EC )?PRIVATE KEY-----/.test(text)) {
      throw new KeyFileError(`a PEM that holds no private key (a public key?); ${EXPECTED}`);
    }
    key = attempt(() => createPrivateKey(text), "not a readable PEM private key");
  } else if (text.startsWith("{")) {
    let jwk: Record<string, unknown>;
    try {
      jwk = JSON.parse(text);
    } catch {
      throw new KeyFileError(`not valid JSON; ${EXPECTED}`);
    }
    if (typeof jwk.d !== "string") throw new KeyFileError(`a JWK without "d" (a public key?); ${EXPECTED}`);
    key = attempt(() => createPrivateKey({ key: jwk as never, format: "jwk" }), "not a valid private JWK");
  } else {
    const seed = /^[0-9a-fA-F]{64}$/.test(text)
      ? Buffer.from(text, "hex")
      : /^[A-Za-z0-9+/_-]{43}=?$/.test(text)
        ? Buffer.from(text, "base64")
        : null;
    if (seed?.length !== 32) throw new KeyFileError(`not a recognised key encoding; ${EXPECTED}`);
    key = createPrivateKey({
      key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
      format: "der",
      type: "pkcs8",
    });
  }
  loginAlgorithm(key);
  return key;
}

function attempt(make: () => KeyObject, why: string): KeyObject {
  try {
    return make();
  } catch (error) {
    throw new KeyFileError(`${why} (${(error as Error).message}); ${EXPECTED}`);
  }
}

/** The algorithm the key logs in with; throws KeyFileError for any other kind of key. */
export function loginAlgorithm(key: KeyObject): LoginAlgorithm {
  if (key.asymmetricKeyType === "ed25519") return "Ed25519";
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === "prime256v1") return "ES256";
    throw new KeyFileError(`an EC key on ${curve ?? "an unknown curve"}; ${EXPECTED}`);
  }
  throw new KeyFileError(`an ${key.asymmetricKeyType?.toUpperCase() ?? "unknown"} key; ${EXPECTED}`);
}

/** The public half as an SPKI PEM (what the registry's POST /identities takes). */
export function publicKeyPem(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: "spki", format: "pem" }).toString();
}

/**
 * The signature of a login nonce (its UTF-8 bytes), base64url: Ed25519 (64 bytes) for people, ES256 as raw
 * r||s (64 bytes) for machines; what the registry's POST /auth/verify takes.
 */
export function signNonce(privateKey: KeyObject, nonce: string): string {
  const data = Buffer.from(nonce, "utf8");
  const signature =
    loginAlgorithm(privateKey) === "Ed25519"
      ? sign(null, data, privateKey)
      : sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
  return signature.toString("base64url");
}
