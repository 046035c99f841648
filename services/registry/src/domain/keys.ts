import { createPublicKey, type KeyObject, verify as verifyWithNode } from "node:crypto";
import { IDENTITY_KEY_ALGORITHM, type IdentityType, type KeyAlgorithm } from "@energy/contracts";
import * as ed from "@noble/ed25519";

/** A public key as stored: Ed25519 as base64url of its 32 raw bytes, ES256 as an SPKI PEM. */
export type NormalizedKey = { algorithm: KeyAlgorithm; publicKey: string };

/** A public key the registry cannot accept; `field` names the input (always `publicKey` here). */
export class KeyError extends Error {
  override readonly name = "KeyError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

const EXPECTED: Record<KeyAlgorithm, string> = {
  Ed25519: "an Ed25519 public key (32 bytes as hex, base64 or base64url, or an SPKI PEM)",
  ES256: 'an ES256 (P-256) public key (a JWK {kty:"EC",crv:"P-256",x,y} or an SPKI PEM)',
};

const HEX_32 = /^[0-9a-fA-F]{64}$/;
const BASE64_32 = /^[A-Za-z0-9+/_-]{43}=?$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** The algorithm an identity type signs with: humans Ed25519, machines ES256. */
export function algorithmFor(type: IdentityType): KeyAlgorithm {
  return IDENTITY_KEY_ALGORITHM[type];
}

/**
 * Parses a public key given for an identity of `type` and returns it normalized.
 * Ed25519 (user, admin, root): 32 raw bytes in hex, base64 or base64url, or an SPKI PEM.
 * ES256 (gateway, device, integration): a P-256 JWK (object or JSON string) or an SPKI PEM.
 * Anything else, including a valid key of the other kind, throws a KeyError naming `publicKey`.
 */
export function parsePublicKey(type: IdentityType, input: unknown, field = "publicKey"): NormalizedKey {
  const algorithm = algorithmFor(type);
  const expected = `expected ${EXPECTED[algorithm]} for a ${type} identity`;
  const refuse = (why: string): never => {
    throw new KeyError(field, `${why}; ${expected}`);
  };

  const jwk = asJwk(input);
  if (jwk) {
    if ("d" in jwk) refuse("got a private key");
    const key = tryPublicKey(() => createPublicKey({ key: jwk as never, format: "jwk" }));
    if (!key) return refuse("not a valid JWK");
    return fromKeyObject(key, algorithm, refuse);
  }
  if (typeof input !== "string") return refuse("not a string or a JWK object");
  const text = input.trim();
  if (text.length === 0) return refuse("empty");

  if (text.startsWith("-----BEGIN")) {
    if (text.includes("PRIVATE KEY")) refuse("got a private key");
    const key = tryPublicKey(() => createPublicKey(text));
    if (!key) return refuse("not a readable PEM public key");
    return fromKeyObject(key, algorithm, refuse);
  }

  const raw = HEX_32.test(text) ? Buffer.from(text, "hex") : BASE64_32.test(text) ? fromBase64(text) : null;
  if (raw?.length === 32) {
    if (algorithm !== "Ed25519") refuse("got 32 raw bytes (an Ed25519 key)");
    return { algorithm, publicKey: ed25519FromRaw(raw, refuse) };
  }
  return refuse("not a recognised key encoding");
}

/**
 * A login key of either kind, normalized (for a challenge asked for by public key, where the identity and so
 * its algorithm are not known yet): an Ed25519 key as parsePublicKey reads it for a person, else an ES256 key
 * as it reads it for a machine; a KeyError naming `publicKey` when it is neither.
 */
export function parseLoginKey(input: unknown, field = "publicKey"): NormalizedKey {
  try {
    return parsePublicKey("user", input, field);
  } catch (error) {
    if (!(error instanceof KeyError)) throw error;
  }
  try {
    return parsePublicKey("gateway", input, field);
  } catch (error) {
    if (!(error instanceof KeyError)) throw error;
    throw new KeyError(field, `not a login key; expected ${EXPECTED.Ed25519}, or ${EXPECTED.ES256}`);
  }
}

function asJwk(input: unknown): Record<string, unknown> | null {
  if (typeof input === "object" && input !== null && !Array.isArray(input)) {
    return input as Record<string, unknown>;
  }
  if (typeof input === "string" && input.trim().startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(input);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        return parsed as Record<string, unknown>;
      }
    } catch {
      // not JSON: falls through to the other encodings
    }
  }
  return null;
}

function tryPublicKey(make: () => KeyObject): KeyObject | null {
  try {
    const key = make();
    return key.type === "public" ? key : null;
  } catch {
    return null;
  }
}

function describeKey(key: KeyObject): string {
  if (key.asymmetricKeyType === "ed25519") return "an Ed25519 key";
  if (key.asymmetricKeyType === "ec")
    return `an EC key on ${key.asymmetricKeyDetails?.namedCurve ?? "an unknown curve"}`;
  return `an ${key.asymmetricKeyType?.toUpperCase() ?? "unknown"} key`;
}

function fromKeyObject(
  key: KeyObject,
  algorithm: KeyAlgorithm,
  refuse: (why: string) => never,
): NormalizedKey {
  if (algorithm === "Ed25519") {
    if (key.asymmetricKeyType !== "ed25519") return refuse(`got ${describeKey(key)}`);
    const x = key.export({ format: "jwk" }).x;
    if (typeof x !== "string") return refuse("not a valid Ed25519 key");
    return { algorithm, publicKey: ed25519FromRaw(Buffer.from(x, "base64url"), refuse) };
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    return refuse(`got ${describeKey(key)}`);
  }
  return { algorithm, publicKey: key.export({ type: "spki", format: "pem" }).toString() };
}

function ed25519FromRaw(raw: Buffer, refuse: (why: string) => never): string {
  try {
    const point = ed.Point.fromBytes(raw);
    if (point.is0()) return refuse("the identity point is not a usable key");
  } catch (error) {
    if (error instanceof KeyError) throw error;
    return refuse("32 bytes that are not a point on Ed25519");
  }
  return raw.toString("base64url");
}

function fromBase64(text: string): Buffer | null {
  return BASE64.test(text) ? Buffer.from(text, "base64") : null;
}

/** A signature as sent: base64 or base64url; null when it is not that. */
export function decodeSignature(signature: string): Buffer | null {
  const text = signature.trim();
  if (!BASE64.test(text)) return null;
  const bytes = Buffer.from(text, "base64");
  return bytes.length > 0 ? bytes : null;
}

/**
 * Whether `signature` (raw bytes) is a signature of `message` by the stored key.
 * Ed25519: 64 bytes (@noble/ed25519). ES256: raw r||s (64 bytes) or DER (node:crypto).
 */
export async function verifySignature(
  key: NormalizedKey,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  try {
    if (key.algorithm === "Ed25519") {
      if (signature.length !== 64) return false;
      return await ed.verifyAsync(signature, message, Buffer.from(key.publicKey, "base64url"));
    }
    const dsaEncoding = signature.length === 64 ? "ieee-p1363" : "der";
    return verifyWithNode("sha256", message, { key: createPublicKey(key.publicKey), dsaEncoding }, signature);
  } catch {
    return false;
  }
}
