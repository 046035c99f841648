import { createPublicKey, generateKeyPairSync, sign } from "node:crypto";
import type { IdentityType } from "@energy/contracts";
import * as ed from "@noble/ed25519";
import { describe, expect, it } from "vitest";
import { mayRegister, mayRevokeIdentity } from "../src/domain/identity-rules.ts";
import { decodeSignature, KeyError, parsePublicKey, verifySignature } from "../src/domain/keys.ts";

const edPair = generateKeyPairSync("ed25519");
const edRaw = Buffer.from(edPair.publicKey.export({ format: "jwk" }).x!, "base64url");
const edPem = edPair.publicKey.export({ type: "spki", format: "pem" }).toString();
const p256 = generateKeyPairSync("ec", { namedCurve: "P-256" });
const p256Pem = p256.publicKey.export({ type: "spki", format: "pem" }).toString();
const p256Jwk = p256.publicKey.export({ format: "jwk" });
const k1Pem = generateKeyPairSync("ec", { namedCurve: "secp256k1" })
  .publicKey.export({ type: "spki", format: "pem" })
  .toString();
const rsaPem = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .publicKey.export({ type: "spki", format: "pem" })
  .toString();
const edNormalized = edRaw.toString("base64url");

describe("parsePublicKey accepts each documented encoding and stores one form", () => {
  const accepted: [string, IdentityType, unknown, string][] = [
    ["Ed25519 hex", "user", edRaw.toString("hex"), edNormalized],
    ["Ed25519 upper-case hex", "admin", edRaw.toString("hex").toUpperCase(), edNormalized],
    ["Ed25519 base64", "user", edRaw.toString("base64"), edNormalized],
    ["Ed25519 base64url", "root", edRaw.toString("base64url"), edNormalized],
    ["Ed25519 SPKI PEM", "user", edPem, edNormalized],
    ["Ed25519 PEM with surrounding blanks", "user", `\n  ${edPem}  \n`, edNormalized],
    ["P-256 SPKI PEM", "gateway", p256Pem, p256Pem],
    ["P-256 JWK object", "device", { kty: "EC", crv: "P-256", x: p256Jwk.x, y: p256Jwk.y }, p256Pem],
    ["P-256 JWK as JSON text", "integration", JSON.stringify(p256Jwk), p256Pem],
  ];
  it.each(accepted)("%s", (_label, type, input, stored) => {
    const key = parsePublicKey(type, input);
    expect(key.publicKey).toBe(stored);
    expect(key.algorithm).toBe(
      type === "gateway" || type === "device" || type === "integration" ? "ES256" : "Ed25519",
    );
  });
});

describe("parsePublicKey refuses the wrong kind of key, naming publicKey and what was expected", () => {
  const refused: [string, IdentityType, unknown, RegExp][] = [
    ["a P-256 PEM for a user", "user", p256Pem, /got an EC key on prime256v1; expected an Ed25519/],
    ["a P-256 JWK for an admin", "admin", p256Jwk, /expected an Ed25519/],
    ["an Ed25519 PEM for a gateway", "gateway", edPem, /got an Ed25519 key; expected an ES256/],
    [
      "raw Ed25519 bytes for a device",
      "device",
      edRaw.toString("hex"),
      /got 32 raw bytes.*expected an ES256/,
    ],
    ["an RSA key for a user", "user", rsaPem, /got an RSA key/],
    ["an RSA key for a gateway", "gateway", rsaPem, /got an RSA key/],
    ["a secp256k1 key for a gateway", "gateway", k1Pem, /secp256k1.*expected an ES256/],
    ["a private key PEM", "gateway", p256.privateKey.export({ type: "pkcs8", format: "pem" }), /private key/],
    ["a private JWK", "gateway", p256.privateKey.export({ format: "jwk" }), /private key/],
    ["garbage text", "user", "not a key at all", /not a recognised key encoding/],
    ["31 bytes of hex", "user", "ab".repeat(31), /not a recognised key encoding/],
    ["an empty string", "user", "   ", /empty/],
    ["a number", "user", 42, /not a string or a JWK/],
    ["a JWK off the curve", "gateway", { kty: "EC", crv: "P-256", x: "AQ", y: "Ag" }, /not a valid JWK/],
    [
      "a broken PEM",
      "user",
      "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
      /not a readable PEM/,
    ],
  ];
  it.each(refused)("%s", (_label, type, input, message) => {
    let error: unknown;
    try {
      parsePublicKey(type, input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeyError);
    expect((error as KeyError).field).toBe("publicKey");
    expect((error as KeyError).message).toMatch(/^publicKey: /);
    expect((error as KeyError).message).toMatch(message);
  });
});

describe("verifySignature", () => {
  const message = Buffer.from("nonce-to-sign", "utf8");
  const other = Buffer.from("another nonce", "utf8");
  const edKey = parsePublicKey("user", edPem);
  const esKey = parsePublicKey("gateway", p256Pem);
  const edSig = sign(null, message, edPair.privateKey);
  const esDer = sign("sha256", message, p256.privateKey);
  const esRaw = sign("sha256", message, { key: p256.privateKey, dsaEncoding: "ieee-p1363" });
  const strangerEd = sign(null, message, generateKeyPairSync("ed25519").privateKey);

  const cases: [string, typeof edKey, Buffer, Uint8Array, boolean][] = [
    ["Ed25519 right key", edKey, message, edSig, true],
    ["Ed25519 other message", edKey, other, edSig, false],
    ["Ed25519 another key's signature", edKey, message, strangerEd, false],
    ["Ed25519 truncated signature", edKey, message, edSig.subarray(0, 63), false],
    ["ES256 DER", esKey, message, esDer, true],
    ["ES256 raw r||s", esKey, message, esRaw, true],
    ["ES256 other message", esKey, other, esRaw, false],
    ["ES256 given an Ed25519 signature", esKey, message, edSig, false],
    ["ES256 garbage", esKey, message, Buffer.from("garbage"), false],
  ];
  it.each(cases)("%s", async (_label, key, msg, signature, valid) => {
    expect(await verifySignature(key, msg, signature)).toBe(valid);
  });

  it("verifies a signature made with @noble/ed25519", async () => {
    const { secretKey, publicKey } = await ed.keygenAsync();
    const key = parsePublicKey("user", Buffer.from(publicKey).toString("hex"));
    expect(await verifySignature(key, message, await ed.signAsync(message, secretKey))).toBe(true);
  });

  it("decodes base64 and base64url signatures, and nothing else", () => {
    expect(decodeSignature(esRaw.toString("base64"))).toEqual(esRaw);
    expect(decodeSignature(esRaw.toString("base64url"))).toEqual(esRaw);
    expect(decodeSignature("not base64!")).toBeNull();
    expect(createPublicKey(esKey.publicKey).asymmetricKeyType).toBe("ec");
  });
});

describe("who may register and revoke whom", () => {
  const register: [IdentityType, IdentityType, boolean][] = [
    ["root", "admin", true],
    ["root", "user", true],
    ["root", "gateway", true],
    ["root", "root", false],
    ["admin", "admin", true],
    ["admin", "user", true],
    ["admin", "integration", true],
    ["user", "gateway", true],
    ["user", "device", true],
    ["user", "integration", true],
    ["user", "user", false],
    ["user", "admin", false],
    ["gateway", "device", false],
    ["device", "gateway", false],
    ["integration", "user", false],
  ];
  it.each(register)("%s registers %s: %s", (caller, type, allowed) => {
    expect(mayRegister(caller, type)).toBe(allowed);
  });

  const revoke: [string, { id: string; type: IdentityType }, { id: string; type: IdentityType }, boolean][] =
    [
      ["self", { id: "usr-a", type: "user" }, { id: "usr-a", type: "user" }, true],
      ["another user", { id: "usr-a", type: "user" }, { id: "usr-b", type: "user" }, false],
      ["admin revokes a gateway", { id: "adm-a", type: "admin" }, { id: "zap-1", type: "gateway" }, true],
      ["root revokes an admin", { id: "root", type: "root" }, { id: "adm-a", type: "admin" }, true],
      ["admin revokes root", { id: "adm-a", type: "admin" }, { id: "root", type: "root" }, false],
      ["root revokes itself", { id: "root", type: "root" }, { id: "root", type: "root" }, false],
    ];
  it.each(revoke)("%s: %s", (_label, caller, target, allowed) => {
    expect(mayRevokeIdentity(caller, target)).toBe(allowed);
  });
});
