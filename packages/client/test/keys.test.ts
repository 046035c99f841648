import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { KeyFileError, loginAlgorithm, publicKeyPem, readPrivateKey, signNonce } from "../src/keys.ts";

const ed = generateKeyPairSync("ed25519");
const p256 = generateKeyPairSync("ec", { namedCurve: "P-256" });
const pem = (k: typeof ed.privateKey, type: "pkcs8" | "sec1" = "pkcs8") =>
  k.export({ type, format: "pem" }).toString();
const seed = Buffer.from(ed.privateKey.export({ format: "jwk" }).d!, "base64url");

/** Checks a signature as the registry does (services/registry/src/domain/keys.ts verifySignature). */
function registryVerifies(publicPem: string, nonce: string, signature: string): boolean {
  const bytes = Buffer.from(signature, "base64");
  const key = createPublicKey(publicPem);
  if (key.asymmetricKeyType === "ed25519") {
    return bytes.length === 64 && verify(null, Buffer.from(nonce, "utf8"), key, bytes);
  }
  const dsaEncoding = bytes.length === 64 ? "ieee-p1363" : "der";
  return verify("sha256", Buffer.from(nonce, "utf8"), { key, dsaEncoding }, bytes);
}

describe("reading a login key file", () => {
  it.each([
    ["an Ed25519 PKCS#8 PEM (tools/dev.ts)", pem(ed.privateKey), "Ed25519"],
    ["an Ed25519 JWK", JSON.stringify(ed.privateKey.export({ format: "jwk" })), "Ed25519"],
    ["an Ed25519 seed in hex", seed.toString("hex"), "Ed25519"],
    ["an Ed25519 seed in base64url", seed.toString("base64url"), "Ed25519"],
    ["a P-256 PKCS#8 PEM (the simulators)", pem(p256.privateKey), "ES256"],
    ["a P-256 SEC1 PEM (openssl ecparam)", pem(p256.privateKey, "sec1"), "ES256"],
    ["a P-256 JWK", JSON.stringify(p256.privateKey.export({ format: "jwk" })), "ES256"],
  ])("reads %s", (_, text, algorithm) => {
    const key = readPrivateKey(`\n${text}\n`);
    expect(loginAlgorithm(key)).toBe(algorithm);
    const expected = algorithm === "Ed25519" ? ed.publicKey : p256.publicKey;
    expect(publicKeyPem(key)).toBe(expected.export({ type: "spki", format: "pem" }).toString());
  });

  it.each([
    ["an empty file", "", /empty/],
    ["a public key PEM", ed.publicKey.export({ type: "spki", format: "pem" }).toString(), /no private key/],
    ["a public JWK", JSON.stringify(p256.publicKey.export({ format: "jwk" })), /without "d"/],
    [
      "an RSA key",
      pem(generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey),
      /an RSA key; expected an Ed25519/,
    ],
    [
      "a P-384 key",
      pem(generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey),
      /an EC key on secp384r1/,
    ],
    [
      "an encrypted PEM",
      ed.privateKey
        .export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "x" })
        .toString(),
      /encrypted/,
    ],
    ["text", "hello", /not a recognised key encoding/],
    ["broken JSON", "{nope", /not valid JSON/],
  ])("refuses %s, saying why", (_, text, why) => {
    expect(() => readPrivateKey(text)).toThrow(KeyFileError);
    expect(() => readPrivateKey(text)).toThrow(why);
  });
});

describe("signing the registry's nonce", () => {
  it.each([
    ["Ed25519", ed],
    ["ES256", p256],
  ])("%s: a signature the registry verifies, and only for that nonce", (_, keys) => {
    const publicPem = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
    const signature = signNonce(keys.privateKey, "nonce-1");
    expect(Buffer.from(signature, "base64url")).toHaveLength(64);
    expect(registryVerifies(publicPem, "nonce-1", signature)).toBe(true);
    expect(registryVerifies(publicPem, "nonce-2", signature)).toBe(false);
  });
});
