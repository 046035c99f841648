import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry } from "./helpers.ts";

// Login by public key: a key's holder logs in without knowing its identity's id. The challenge is asked for
// the key, the signature is checked with that key before anything is looked up, and only then is the key's
// identity found; whoever does not hold the private key learns nothing (the same answers, registered or not).

const spki = (key: KeyObject) => key.export({ type: "spki", format: "pem" }).toString();
const rawEd25519 = (key: KeyObject) => String(key.export({ format: "jwk" }).x);
function signNonce(privateKey: KeyObject, nonce: string): string {
  const data = Buffer.from(nonce, "utf8");
  return privateKey.asymmetricKeyType === "ed25519"
    ? sign(null, data, privateKey).toString("base64url")
    : sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url");
}

describe("login by public key", () => {
  let r: Awaited<ReturnType<typeof startRegistry>>;
  const root = () => ({ authorization: `Bearer ${r.tokenFor("root", "root")}` });

  beforeAll(async () => {
    r = await startRegistry();
  });
  afterAll(async () => r?.close());

  async function registered(type: "user" | "gateway") {
    const keys =
      type === "user" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
    const res = await r.app.inject({
      method: "POST",
      url: "/identities",
      headers: root(),
      payload: { type, name: `by key ${type}`, publicKey: spki(keys.publicKey) },
    });
    expect(res.statusCode).toBe(201);
    return { ...(res.json() as { id: string; keyId: string }), ...keys };
  }

  async function challengeFor(publicKey: unknown) {
    return r.app.inject({ method: "POST", url: "/auth/challenge", payload: { publicKey } });
  }

  async function verify(body: Record<string, unknown>) {
    return r.app.inject({ method: "POST", url: "/auth/verify", payload: body });
  }

  /** Challenge for `publicKey`, the nonce signed with `signer`, verify without an identity id. */
  async function loginByKey(publicKey: unknown, signer: KeyObject, extra: Record<string, unknown> = {}) {
    const challenge = await challengeFor(publicKey);
    expect(challenge.statusCode).toBe(200);
    const { challengeId, nonce } = challenge.json() as { challengeId: string; nonce: string };
    return verify({ challengeId, signature: signNonce(signer, nonce), ...extra });
  }

  it("logs a user (Ed25519, as PEM or raw) and a gateway (ES256) in by key alone, as their identities", async () => {
    const user = await registered("user");
    const gateway = await registered("gateway");
    for (const [who, publicKey] of [
      [user, spki(user.publicKey)],
      [user, rawEd25519(user.publicKey)],
      [gateway, spki(gateway.publicKey)],
      [gateway, gateway.publicKey.export({ format: "jwk" })],
    ] as const) {
      const res = await loginByKey(publicKey, who.privateKey);
      expect(res.statusCode, res.body).toBe(200);
      const claims = jwt.decode(res.json().accessToken) as jwt.JwtPayload;
      expect(claims).toMatchObject({ sub: who.id, key: who.keyId });
      // the refresh token it got works like any other
      const refreshed = await r.app.inject({
        method: "POST",
        url: "/auth/refresh",
        payload: { refreshToken: res.json().refreshToken },
      });
      expect(refreshed.statusCode).toBe(200);
    }
    // an identity id given with it must be the key's
    const other = await registered("user");
    const wrong = await loginByKey(spki(user.publicKey), user.privateKey, { identityId: other.id });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe("invalid_challenge");
  });

  it("tells nobody without the private key whether a key is registered: the same answers either way", async () => {
    const user = await registered("user");
    const unregistered = generateKeyPairSync("ed25519");
    const attacker = generateKeyPairSync("ed25519");

    const [known, unknown] = [
      await challengeFor(spki(user.publicKey)),
      await challengeFor(spki(unregistered.publicKey)),
    ];
    expect([known.statusCode, unknown.statusCode]).toEqual([200, 200]);
    expect(Object.keys(unknown.json()).sort()).toEqual(Object.keys(known.json()).sort());

    // signed by someone else: the same refusal, word for word, for the registered key and the other one
    const answers = [];
    for (const publicKey of [user.publicKey, unregistered.publicKey]) {
      const res = await loginByKey(spki(publicKey), attacker.privateKey);
      answers.push({ status: res.statusCode, error: res.json().error });
    }
    expect(answers[0]).toEqual({
      status: 401,
      error: { code: "invalid_signature", message: "The signature does not verify with the challenge's key" },
    });
    expect(answers[1]).toEqual(answers[0]);
    // and the challenge is used up by that attempt: the key's holder must ask again
    const challenge = (await challengeFor(spki(user.publicKey))).json() as {
      challengeId: string;
      nonce: string;
    };
    const wrongFirst = await verify({
      challengeId: challenge.challengeId,
      signature: signNonce(attacker.privateKey, challenge.nonce),
    });
    expect(wrongFirst.statusCode).toBe(401);
    const thenRight = await verify({
      challengeId: challenge.challengeId,
      signature: signNonce(user.privateKey, challenge.nonce),
    });
    expect(thenRight.json().error.code).toBe("invalid_challenge");
  });

  it("tells the holder of an unregistered or revoked key that no identity logs in with it", async () => {
    const unregistered = generateKeyPairSync("ed25519");
    const res = await loginByKey(spki(unregistered.publicKey), unregistered.privateKey);
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toEqual({
      code: "invalid_signature",
      message: "No identity logs in with this key (unknown or revoked)",
    });

    // a revoked identity's key, and a revoked key of a live identity
    const revoked = await registered("user");
    expect(
      (
        await r.app.inject({
          method: "POST",
          url: `/identities/${revoked.id}/revoke`,
          headers: root(),
          payload: {},
        })
      ).statusCode,
    ).toBe(200);
    expect((await loginByKey(spki(revoked.publicKey), revoked.privateKey)).json().error.message).toBe(
      "No identity logs in with this key (unknown or revoked)",
    );
    const rotated = await registered("gateway");
    const next = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const added = await r.app.inject({
      method: "POST",
      url: `/identities/${rotated.id}/keys`,
      headers: { authorization: `Bearer ${r.tokenFor(rotated.id, "gateway")}` },
      payload: { publicKey: spki(next.publicKey) },
    });
    expect(added.statusCode).toBe(201);
    const dropped = await r.app.inject({
      method: "DELETE",
      url: `/identities/${rotated.id}/keys/${rotated.keyId}`,
      headers: { authorization: `Bearer ${r.tokenFor(rotated.id, "gateway")}` },
    });
    expect(dropped.statusCode).toBe(204);
    expect((await loginByKey(spki(rotated.publicKey), rotated.privateKey)).statusCode).toBe(401);
    const withNew = await loginByKey(spki(next.publicKey), next.privateKey);
    expect(withNew.statusCode).toBe(200);
    expect((jwt.decode(withNew.json().accessToken) as jwt.JwtPayload).sub).toBe(rotated.id);
  });

  it("refuses a public key that is not a login key with a 400 naming publicKey", async () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    for (const publicKey of ["not a key", spki(rsa.publicKey), "AAAA"]) {
      const res = await challengeFor(publicKey);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: "invalid_public_key", details: { field: "publicKey" } });
    }
    const neither = await r.app.inject({ method: "POST", url: "/auth/challenge", payload: {} });
    expect(neither.statusCode).toBe(400);
    expect(neither.json().error.code).toBe("validation_failed");
  });
});
