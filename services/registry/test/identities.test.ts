import { createHmac, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { readTopic } from "@energy/testing";
import * as ed from "@noble/ed25519";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRootIdentity } from "../src/root-identity.ts";
import { startRegistry } from "./helpers.ts";

type Signer = (nonce: string) => string | Promise<string>;
const ed25519Signer =
  (privateKey: KeyObject): Signer =>
  (nonce) =>
    sign(null, Buffer.from(nonce, "utf8"), privateKey).toString("base64url");
const es256Signer =
  (privateKey: KeyObject, dsaEncoding: "der" | "ieee-p1363" = "der"): Signer =>
  (nonce) =>
    sign("sha256", Buffer.from(nonce, "utf8"), { key: privateKey, dsaEncoding }).toString("base64");

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("identities and key login", () => {
  let r: Awaited<ReturnType<typeof startRegistry>>;
  const rootKeys = generateKeyPairSync("ed25519");
  const root = () => ({ authorization: `Bearer ${r.tokenFor("root", "root")}` });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    r = await startRegistry({
      ROOT_PUBLIC_KEY: rootKeys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    });
  });
  afterAll(async () => r?.close());

  async function register(headers: Record<string, string>, body: Record<string, unknown>) {
    return r.app.inject({ method: "POST", url: "/identities", headers, payload: body });
  }

  async function challenge(identityId: string) {
    const res = await r.app.inject({ method: "POST", url: "/auth/challenge", payload: { identityId } });
    expect(res.statusCode).toBe(200);
    return res.json() as { challengeId: string; nonce: string; expiresAt: string };
  }

  async function verify(body: Record<string, unknown>) {
    return r.app.inject({ method: "POST", url: "/auth/verify", payload: body });
  }

  async function login(identityId: string, signer: Signer, keyId?: string) {
    const { challengeId, nonce } = await challenge(identityId);
    return verify({ challengeId, identityId, signature: await signer(nonce), ...(keyId ? { keyId } : {}) });
  }

  /** A user with an Ed25519 key made by @noble/ed25519, registered by the root. */
  async function newUser(name = "Paul") {
    const { secretKey, publicKey } = await ed.keygenAsync();
    const res = await register(root(), {
      type: "user",
      name,
      publicKey: Buffer.from(publicKey).toString("hex"),
    });
    expect(res.statusCode).toBe(201);
    const signer: Signer = async (nonce) =>
      Buffer.from(await ed.signAsync(Buffer.from(nonce, "utf8"), secretKey)).toString("base64url");
    return { ...(res.json() as { id: string; keyId: string }), signer };
  }

  it("creates the root from ROOT_PUBLIC_KEY once, and the root logs in with it", async () => {
    // the service created it when it started (as server.ts does); doing it again creates nothing
    expect(await r.db.identity.count({ where: { type: "root" } })).toBe(1);
    expect(await ensureRootIdentity(r.db, r.config.ROOT_PUBLIC_KEY!)).toBe(false);
    expect(await r.db.identity.count({ where: { type: "root" } })).toBe(1);
    const res = await login("root", ed25519Signer(rootKeys.privateKey));
    expect(res.statusCode).toBe(200);
    const claims = jwt.decode(res.json().accessToken) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: "root", typ: "root" });
  });

  it("logs a user (Ed25519) and a gateway (P-256) in; their tokens work on the organization endpoints", async () => {
    const user = await newUser();
    expect(user.id).toMatch(/^usr-[0-9a-z]{12}$/);
    const userLogin = await login(user.id, user.signer);
    expect(userLogin.statusCode).toBe(200);
    const userTokens = userLogin.json();
    expect(userTokens).toMatchObject({ tokenType: "Bearer", expiresIn: 900 });

    const gatewayKeys = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const gatewayRes = await register(bearer(userTokens.accessToken), {
      type: "gateway",
      name: "Zap in the garage",
      publicKey: gatewayKeys.publicKey.export({ format: "jwk" }),
    });
    expect(gatewayRes.statusCode).toBe(201);
    const gateway = gatewayRes.json();
    expect(gateway).toMatchObject({ type: "gateway", name: "Zap in the garage" });
    expect(gateway.id).toMatch(/^zap-/);

    for (const dsa of ["der", "ieee-p1363"] as const) {
      const res = await login(gateway.id, es256Signer(gatewayKeys.privateKey, dsa), gateway.keyId);
      expect(res.statusCode).toBe(200);
    }
    const gatewayTokens = (await login(gateway.id, es256Signer(gatewayKeys.privateKey))).json();

    for (const token of [userTokens.accessToken, gatewayTokens.accessToken]) {
      const created = await r.app.inject({
        method: "POST",
        url: "/organizations",
        headers: bearer(token),
        payload: { name: "Home", kind: "developer" },
      });
      expect(created.statusCode).toBe(201);
      const read = await r.app.inject({ url: `/organizations/${created.json().id}`, headers: bearer(token) });
      expect(read.statusCode).toBe(200);
      expect(read.json().role).toBe("owner");
    }
  });

  it("publishes identity.registered once, with the contract's payload", async () => {
    const user = await newUser("Ada");
    const key = await r.db.identityKey.findUniqueOrThrow({ where: { keyId: user.keyId } });
    await waitFor(async () => (await r.db.outboxMessage.count({ where: { sentAt: null } })) === 0);
    const count = await r.db.outboxMessage.count({ where: { topic: "registry.identity.v1" } });
    const topic = `${r.testKafka.topicPrefix}registry.identity.v1`;
    const messages = await readTopic(r.testKafka.kafka, topic, { count, settleMs: 500 });
    const mine = messages.filter((m) => m.key === user.id);
    expect(mine).toHaveLength(1);
    expect(JSON.parse(mine[0]!.headers.envelope!)).toMatchObject({
      type: "identity.registered",
      source: "registry",
    });
    expect(JSON.parse(mine[0]!.value!)).toEqual({
      identityId: user.id,
      identityType: "user",
      name: "Ada",
      keyId: user.keyId,
      algorithm: "Ed25519",
      publicKey: key.publicKey,
    });
  });

  it("refuses a replayed challenge", async () => {
    const user = await newUser();
    const { challengeId, nonce } = await challenge(user.id);
    const body = { challengeId, identityId: user.id, signature: await user.signer(nonce) };
    expect((await verify(body)).statusCode).toBe(200);
    const replay = await verify(body);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().error.code).toBe("invalid_challenge");
  });

  it("refuses an expired challenge", async () => {
    const user = await newUser();
    const { challengeId, nonce } = await challenge(user.id);
    await r.db
      .$executeRaw`UPDATE auth_challenge SET expires_at = now() - interval '1 second' WHERE id = ${challengeId}::uuid`;
    const res = await verify({ challengeId, identityId: user.id, signature: await user.signer(nonce) });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("invalid_challenge");
  });

  it("refuses a challenge issued for another identity, and a wrong attempt uses the challenge up", async () => {
    const [alice, mallory] = [await newUser("Alice"), await newUser("Mallory")];
    const { challengeId, nonce } = await challenge(alice.id);
    const res = await verify({ challengeId, identityId: mallory.id, signature: await mallory.signer(nonce) });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("invalid_challenge");
    const afterwards = await verify({
      challengeId,
      identityId: alice.id,
      signature: await alice.signer(nonce),
    });
    expect(afterwards.json().error.code).toBe("invalid_challenge");
  });

  it("refuses a signature by a key that is not the identity's", async () => {
    const user = await newUser();
    const stranger = generateKeyPairSync("ed25519");
    const res = await login(user.id, ed25519Signer(stranger.privateKey));
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("invalid_signature");
    const garbage = await login(user.id, () => "%%%not-base64%%%");
    expect(garbage.json().error.code).toBe("invalid_signature");
  });

  it("answers a challenge for an unknown identity like any other, but it never verifies", async () => {
    const known = await newUser();
    const [a, b] = [await challenge(known.id), await challenge("usr-doesnotexist")];
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    expect(Buffer.from(b.nonce, "base64url")).toHaveLength(32);
    const res = await verify({
      challengeId: b.challengeId,
      identityId: "usr-doesnotexist",
      signature: "AAAA",
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("invalid_challenge");
  });

  it("adds a key and revokes the old one, which can no longer log in and whose refresh tokens die", async () => {
    const user = await newUser();
    const firstLogin = (await login(user.id, user.signer)).json();
    const token = firstLogin.accessToken;
    const second = generateKeyPairSync("ed25519");
    const added = await r.app.inject({
      method: "POST",
      url: `/identities/${user.id}/keys`,
      headers: bearer(token),
      payload: { publicKey: second.publicKey.export({ type: "spki", format: "pem" }).toString() },
    });
    expect(added.statusCode).toBe(201);
    expect(added.json().algorithm).toBe("Ed25519");

    const other = await newUser("Someone else");
    const foreign = await r.app.inject({
      method: "DELETE",
      url: `/identities/${user.id}/keys/${user.keyId}`,
      headers: bearer((await login(other.id, other.signer)).json().accessToken),
    });
    expect(foreign.statusCode).toBe(403);

    const revoked = await r.app.inject({
      method: "DELETE",
      url: `/identities/${user.id}/keys/${user.keyId}`,
      headers: bearer(token),
    });
    expect(revoked.statusCode).toBe(204);
    const oldKey = await login(user.id, user.signer);
    expect(oldKey.statusCode).toBe(401);
    expect(oldKey.json().error.code).toBe("invalid_signature");
    const secondLogin = await login(user.id, ed25519Signer(second.privateKey));
    expect(secondLogin.statusCode).toBe(200);
    const refresh = (refreshToken: string) =>
      r.app.inject({ method: "POST", url: "/auth/refresh", payload: { refreshToken } });
    expect((await refresh(firstLogin.refreshToken)).statusCode).toBe(401); // proved by the revoked key
    expect((await refresh(secondLogin.json().refreshToken)).statusCode).toBe(200); // proved by the kept key
    // the access token the revoked key proved ends with it, at once; the kept key's works
    const orgs = (accessToken: string) =>
      r.app.inject({
        method: "POST",
        url: "/organizations",
        headers: bearer(accessToken),
        payload: { name: "Key check", kind: "buyer" },
      });
    const stale = await orgs(token);
    expect(stale.statusCode).toBe(401);
    expect(stale.json().error.message).toBe("Identity or key revoked");
    const kept = secondLogin.json().accessToken as string;
    expect((await orgs(kept)).statusCode).toBe(201);

    const last = await r.app.inject({
      method: "DELETE",
      url: `/identities/${user.id}/keys/${added.json().keyId}`,
      headers: bearer(kept),
    });
    expect(last.statusCode).toBe(409);
    expect(last.json().error.code).toBe("last_active_key");
  });

  it("rotates refresh tokens: the new one works, the used one is refused", async () => {
    const user = await newUser();
    const first = (await login(user.id, user.signer)).json();
    const refreshed = await r.app.inject({
      method: "POST",
      url: "/auth/refresh",
      payload: { refreshToken: first.refreshToken },
    });
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.json().refreshToken).not.toBe(first.refreshToken);
    const again = await r.app.inject({
      method: "POST",
      url: "/auth/refresh",
      payload: { refreshToken: first.refreshToken },
    });
    expect(again.statusCode).toBe(401);
    expect(again.json().error.code).toBe("invalid_refresh_token");
    const unknown = await r.app.inject({
      method: "POST",
      url: "/auth/refresh",
      payload: { refreshToken: "nope" },
    });
    expect(unknown.statusCode).toBe(401);
    const stored = await r.db.refreshToken.findMany({ where: { identityId: user.id } });
    expect(stored.map((t) => t.tokenHash)).not.toContain(first.refreshToken);
  });

  it("revokes an identity: no more logins, its refresh tokens die", async () => {
    const user = await newUser();
    const tokens = (await login(user.id, user.signer)).json();
    const res = await r.app.inject({
      method: "POST",
      url: `/identities/${user.id}/revoke`,
      headers: root(),
      payload: { reason: "left the company" },
    });
    expect(res.statusCode).toBe(200);
    const refresh = await r.app.inject({
      method: "POST",
      url: "/auth/refresh",
      payload: { refreshToken: tokens.refreshToken },
    });
    expect(refresh.statusCode).toBe(401);
    const again = await login(user.id, user.signer);
    expect(again.statusCode).toBe(401);
    expect(again.json().error.code).toBe("invalid_challenge");
    // its still-unexpired access token can no longer manage identities
    const register2 = await register(bearer(tokens.accessToken), {
      type: "gateway",
      name: "late",
      publicKey: generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "jwk" }),
    });
    expect(register2.statusCode).toBe(401);
  });

  it("refuses a revoked identity's unexpired access token on every endpoint at once", async () => {
    const user = await newUser("Leaver");
    const { accessToken } = (await login(user.id, user.signer)).json();
    const org = await r.app.inject({
      method: "POST",
      url: "/organizations",
      headers: bearer(accessToken),
      payload: { name: "Leaver Energy", kind: "developer" },
    });
    expect(org.statusCode).toBe(201);
    const orgUrl = `/organizations/${org.json().id}`;
    expect(
      (await r.app.inject({ method: "GET", url: orgUrl, headers: bearer(accessToken) })).statusCode,
    ).toBe(200);
    const revoke = await r.app.inject({
      method: "POST",
      url: `/identities/${user.id}/revoke`,
      headers: root(),
    });
    expect(revoke.statusCode).toBe(200);
    const reads = await Promise.all(
      [orgUrl, `${orgUrl}/sites`, `${orgUrl}/devices`, `${orgUrl}/invitations`].map((url) =>
        r.app.inject({ method: "GET", url, headers: bearer(accessToken) }),
      ),
    );
    for (const res of reads) {
      expect(res.statusCode).toBe(401);
      expect(res.json().error.message).toBe("Identity or key revoked");
    }
    const write = await r.app.inject({
      method: "POST",
      url: `${orgUrl}/sites`,
      headers: bearer(accessToken),
      payload: { name: "Late site", timezone: "Europe/Rome" },
    });
    expect(write.statusCode).toBe(401);
    expect(await r.db.site.count({ where: { orgId: org.json().id } })).toBe(0);
  });

  it("lets only the allowed callers register and revoke", async () => {
    const user = await newUser();
    const token = (await login(user.id, user.signer)).json().accessToken;
    const edKey = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
    const asUser = await register(bearer(token), { type: "admin", name: "Me, promoted", publicKey: edKey });
    expect(asUser.statusCode).toBe(403);
    const rootAsRoot = await register(root(), { type: "root", name: "Second root", publicKey: edKey });
    expect(rootAsRoot.statusCode).toBe(400);
    const other = await newUser();
    const revokeOther = await r.app.inject({
      method: "POST",
      url: `/identities/${other.id}/revoke`,
      headers: bearer(token),
    });
    expect(revokeOther.statusCode).toBe(403);
    const self = await r.app.inject({
      method: "POST",
      url: `/identities/${user.id}/revoke`,
      headers: bearer(token),
    });
    expect(self.statusCode).toBe(200);
  });

  it("refuses malformed or wrong-kind keys with a 400 naming publicKey, and a key already in use with 409", async () => {
    const p256 = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
    const ed25519 = generateKeyPairSync("ed25519").publicKey;
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
    const cases = [
      { type: "user", publicKey: p256.export({ type: "spki", format: "pem" }).toString() },
      { type: "gateway", publicKey: ed25519.export({ type: "spki", format: "pem" }).toString() },
      { type: "device", publicKey: rsa.export({ type: "spki", format: "pem" }).toString() },
      { type: "user", publicKey: "garbage" },
      { type: "integration", publicKey: { kty: "EC", crv: "P-256", x: "AQ", y: "Ag" } },
    ];
    for (const body of cases) {
      const res = await register(root(), { ...body, name: "x" });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe("invalid_public_key");
      expect(res.json().error.message).toMatch(/^publicKey: .*expected/);
    }
    const missing = await register(root(), { type: "user", name: "x" });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.message).toMatch(/publicKey/);
    expect(await r.db.identity.count({ where: { name: "x" } })).toBe(0);

    const hex = Buffer.from(ed25519.export({ format: "jwk" }).x!, "base64url").toString("hex");
    expect((await register(root(), { type: "user", name: "first", publicKey: hex })).statusCode).toBe(201);
    const pem = ed25519.export({ type: "spki", format: "pem" }).toString();
    const dup = await register(root(), { type: "user", name: "second", publicKey: pem });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe("public_key_in_use");
  });

  it("refuses tokens with alg none, HS256 keyed with the public key, or another ES256 key", async () => {
    const user = await newUser();
    const claims = {
      sub: user.id,
      typ: "user",
      iss: r.config.JWT_ISSUER,
      aud: r.config.JWT_AUDIENCE,
      exp: Math.floor(Date.now() / 1000) + 300,
    };
    const none = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`;
    const hsInput = `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url(claims)}`;
    const hs256 = `${hsInput}.${createHmac("sha256", r.config.JWT_PUBLIC_KEY).update(hsInput).digest("base64url")}`;
    const stranger = jwt.sign(claims, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey, {
      algorithm: "ES256",
    });
    for (const token of [none, hs256, stranger]) {
      const res = await r.app.inject({
        method: "POST",
        url: "/organizations",
        headers: bearer(token),
        payload: { name: "Forged", kind: "buyer" },
      });
      expect(res.statusCode).toBe(401);
    }
    expect(await r.db.organization.count({ where: { name: "Forged" } })).toBe(0);
  });

  it("serves its public key as a JWKS that verifies the access tokens it issues", async () => {
    const user = await newUser();
    const { accessToken } = (await login(user.id, user.signer)).json();
    const res = await r.app.inject({ url: "/.well-known/jwks.json" });
    expect(res.statusCode).toBe(200);
    const [jwk] = res.json().keys;
    expect(jwk).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    const decoded = jwt.decode(accessToken, { complete: true })!;
    expect(decoded.header).toMatchObject({ alg: "ES256", kid: jwk.kid });
    const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: "jwk" });
    const claims = jwt.verify(accessToken, key, { algorithms: ["ES256"] }) as jwt.JwtPayload;
    expect(claims).toMatchObject({
      sub: user.id,
      typ: "user",
      iss: r.config.JWT_ISSUER,
      aud: r.config.JWT_AUDIENCE,
    });
    expect(claims.jti).toBeTruthy();
    expect(claims.exp! - claims.iat!).toBe(900);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}
