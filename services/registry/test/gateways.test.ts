import { sign } from "node:crypto";
import { readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimWithProof, gatewayKeys, signClaim } from "./gateway-proof.ts";
import { startRegistry } from "./helpers.ts";

// A gateway comes to an organization only with the gateway's own signature over a challenge naming that
// organization; a device talks only through a gateway of its own organization.

describe("gateway claims prove possession", () => {
  let r: Awaited<ReturnType<typeof startRegistry>>;
  const gateway = gatewayKeys();
  const otherGateway = gatewayKeys();
  let gatewayId: string;
  let otherGatewayId: string;
  let orgA: string;
  let siteA: string;
  let deviceA: string;
  let orgB: string;
  let siteB: string;

  beforeAll(async () => {
    r = await startRegistry();
    for (const id of ["usr-alice", "usr-bob"]) {
      await r.db.identity.create({ data: { id, type: "user", name: id } });
    }
    // the gateway maker (a user) registers each gateway with the gateway's public key
    const register = async (publicKey: string, name: string) => {
      const res = await call("usr-alice", "POST", "/identities", { type: "gateway", name, publicKey });
      expect(res.statusCode).toBe(201);
      return res.json().id as string;
    };
    gatewayId = await register(gateway.publicKeyPem, "Zap in A's garage");
    otherGatewayId = await register(otherGateway.publicKeyPem, "Zap of B");
    orgA = await createOrg("usr-alice", "A Energy");
    orgB = await createOrg("usr-bob", "B Energy");
    siteA = await createSite("usr-alice", orgA);
    siteB = await createSite("usr-bob", orgB);
  });
  afterAll(async () => r?.close());

  function call(as: string, method: "GET" | "POST" | "PATCH", url: string, payload?: unknown) {
    return r.app.inject({
      method,
      url,
      headers: r.auth(as),
      ...(payload ? { payload: payload as object } : {}),
    });
  }
  async function createOrg(owner: string, name: string) {
    const res = await call(owner, "POST", "/organizations", { name, kind: "developer" });
    expect(res.statusCode).toBe(201);
    return res.json().id as string;
  }
  async function createSite(as: string, orgId: string) {
    const res = await call(as, "POST", `/organizations/${orgId}/sites`, {
      name: "Home",
      timezone: "Europe/Oslo",
    });
    expect(res.statusCode).toBe(201);
    return res.json().id as string;
  }
  async function challenge(as: string, orgId: string, gateway = gatewayId) {
    const res = await call(as, "POST", `/organizations/${orgId}/gateways/${gateway}/claim-challenge`);
    expect(res.statusCode).toBe(201);
    return res.json() as { challengeId: string; nonce: string; message: string; expiresAt: string };
  }
  const claimUrl = (orgId: string, gateway = gatewayId) =>
    `/organizations/${orgId}/gateways/${gateway}/claim`;
  const deviceOfA = async () =>
    (await call("usr-alice", "GET", `/organizations/${orgA}/devices/${deviceA}`)).json();

  it("claims a gateway with its signature of a challenge naming the organization, then binds devices to it", async () => {
    const issued = await challenge("usr-alice", orgA);
    expect(issued.message).toBe(
      `energy-platform gateway claim v1\ngateway: ${gatewayId}\norganization: ${orgA}\nnonce: ${issued.nonce}`,
    );
    const claim = await call("usr-alice", "POST", claimUrl(orgA), {
      siteId: siteA,
      challengeId: issued.challengeId,
      signature: signClaim(gateway.privateKey, issued.message),
    });
    expect(claim.statusCode).toBe(200);
    expect(claim.json()).toMatchObject({ gatewayId, orgId: orgA, siteId: siteA, previousOrgId: null });

    // single use: the same proof again is refused
    const again = await call("usr-alice", "POST", claimUrl(orgA), {
      challengeId: issued.challengeId,
      signature: signClaim(gateway.privateKey, issued.message),
    });
    expect(again.statusCode).toBe(403);
    expect(again.json().error.code).toBe("invalid_claim_proof");

    const device = await call("usr-alice", "POST", `/organizations/${orgA}/devices`, {
      siteId: siteA,
      type: "inverter",
      name: "Roof inverter",
      commIdentityId: gatewayId,
    });
    expect(device.statusCode).toBe(201);
    deviceA = device.json().id;
    // its own organization moves it to another site without a new proof
    const site2 = await createSite("usr-alice", orgA);
    const moved = await call("usr-alice", "POST", claimUrl(orgA), { siteId: site2 });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({ siteId: site2, previousOrgId: null, orphanedDeviceIds: [] });
  });

  it("refuses B's claim of A's gateway without the gateway's proof, and leaves A's devices alone", async () => {
    const bare = await call("usr-bob", "POST", claimUrl(orgB), { siteId: siteB });
    expect(bare.statusCode).toBe(403);
    expect(bare.json().error.code).toBe("claim_proof_required");

    // B's own challenge, signed by a key B holds (not the gateway's)
    const own = await challenge("usr-bob", orgB);
    const wrongKey = await call("usr-bob", "POST", claimUrl(orgB), {
      challengeId: own.challengeId,
      signature: signClaim(otherGateway.privateKey, own.message),
    });
    expect(wrongKey.statusCode).toBe(403);
    expect(wrongKey.json().error.code).toBe("invalid_claim_proof");

    // a genuine signature the gateway gave A, replayed by B: the challenge names A
    const forA = await challenge("usr-alice", orgA);
    const replayed = await call("usr-bob", "POST", claimUrl(orgB), {
      challengeId: forA.challengeId,
      signature: signClaim(gateway.privateKey, forA.message),
    });
    expect(replayed.statusCode).toBe(403);
    // and B's challenge signed over A's message does not pass either
    const own2 = await challenge("usr-bob", orgB);
    const otherMessage = await call("usr-bob", "POST", claimUrl(orgB), {
      challengeId: own2.challengeId,
      signature: signClaim(gateway.privateKey, forA.message),
    });
    expect(otherMessage.statusCode).toBe(403);

    // a non-member of A cannot even ask for a challenge in A's name
    expect(
      (await call("usr-bob", "POST", `/organizations/${orgA}/gateways/${gatewayId}/claim-challenge`))
        .statusCode,
    ).toBe(404);

    expect((await r.db.gatewayClaim.findUnique({ where: { gatewayId } }))?.orgId).toBe(orgA);
    expect((await deviceOfA()).state).toBe("pending");
  });

  it("refuses B binding its devices to A's gateway, or to a gateway nobody claimed", async () => {
    for (const commIdentityId of [gatewayId, otherGatewayId]) {
      const created = await call("usr-bob", "POST", `/organizations/${orgB}/devices`, {
        siteId: siteB,
        type: "inverter",
        name: "Borrowed gateway",
        commIdentityId,
      });
      expect(created.statusCode).toBe(400);
      expect(created.json().error).toMatchObject({
        code: "gateway_not_claimed",
        details: { field: "commIdentityId" },
      });
    }
    const device = await call("usr-bob", "POST", `/organizations/${orgB}/devices`, {
      siteId: siteB,
      type: "battery",
      name: "B's battery",
    });
    expect(device.statusCode).toBe(201);
    const patched = await call("usr-bob", "PATCH", `/organizations/${orgB}/devices/${device.json().id}`, {
      commIdentityId: gatewayId,
    });
    expect(patched.statusCode).toBe(400);
    expect(patched.json().error.code).toBe("gateway_not_claimed");
    expect(await r.db.device.count({ where: { commIdentityId: gatewayId, orgId: orgB } })).toBe(0);
  });

  it("refuses an expired claim challenge, and never lets a claim challenge log the gateway in", async () => {
    const issued = await challenge("usr-bob", orgB);
    const login = await r.app.inject({
      method: "POST",
      url: "/auth/verify",
      payload: {
        challengeId: issued.challengeId,
        identityId: gatewayId,
        signature: sign("sha256", Buffer.from(issued.nonce, "utf8"), gateway.privateKey).toString("base64"),
      },
    });
    expect(login.statusCode).toBe(401);
    expect(login.json().error.code).toBe("invalid_challenge");

    const late = await challenge("usr-bob", orgB);
    await r.db.authChallenge.update({
      where: { id: late.challengeId },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const expired = await call("usr-bob", "POST", claimUrl(orgB), {
      challengeId: late.challengeId,
      signature: signClaim(gateway.privateKey, late.message),
    });
    expect(expired.statusCode).toBe(403);
    expect(expired.json().error.message).toContain("expired");
  });

  it("moves the gateway to B with the gateway's proof; A's devices on it become orphaned", async () => {
    const claim = await claimWithProof(r.app, r.auth("usr-bob"), {
      orgId: orgB,
      gatewayId,
      privateKey: gateway.privateKey,
      siteId: siteB,
    });
    expect(claim.statusCode).toBe(200);
    expect(claim.json()).toMatchObject({ orgId: orgB, previousOrgId: orgA, orphanedDeviceIds: [deviceA] });
    expect((await deviceOfA()).state).toBe("orphaned");
    // now B's devices may talk through it, A's may not
    const bound = await call("usr-bob", "POST", `/organizations/${orgB}/devices`, {
      siteId: siteB,
      type: "inverter",
      name: "Now ours",
      commIdentityId: gatewayId,
    });
    expect(bound.statusCode).toBe(201);
    const rebound = await call("usr-alice", "PATCH", `/organizations/${orgA}/devices/${deviceA}`, {
      commIdentityId: gatewayId,
    });
    expect(rebound.statusCode).toBe(400);

    while ((await r.db.outboxMessage.count({ where: { sentAt: null } })) > 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const claims = await readTopic(r.testKafka.kafka, `${r.testKafka.topicPrefix}registry.gateway.v1`, {
      count: 3,
      settleMs: 300,
    });
    expect(claims.map((m) => JSON.parse(m.value!))).toEqual([
      { gatewayId, orgId: orgA, siteId: siteA, previousOrgId: null },
      expect.objectContaining({ gatewayId, orgId: orgA, previousOrgId: null }),
      { gatewayId, orgId: orgB, siteId: siteB, previousOrgId: orgA },
    ]);
  });

  it("moves the gateway back to A with the one-time claim code the gateway shows", async () => {
    const asGateway = { authorization: `Bearer ${r.tokenFor(gatewayId, "gateway")}` };
    const codeUrl = `/gateways/${gatewayId}/claim-code`;
    // only the gateway itself asks for its code
    expect(
      (await r.app.inject({ method: "POST", url: codeUrl, headers: r.auth("usr-alice") })).statusCode,
    ).toBe(403);
    const issued = await r.app.inject({ method: "POST", url: codeUrl, headers: asGateway });
    expect(issued.statusCode).toBe(201);
    const { claimCode } = issued.json() as { claimCode: string };
    expect(claimCode).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    expect(await r.db.gatewayClaimCode.count({ where: { codeHash: { contains: claimCode } } })).toBe(0);

    const wrong = await call("usr-alice", "POST", claimUrl(orgA), { claimCode: "AAAA-BBBB-CCCC" });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error.code).toBe("invalid_claim_proof");
    // typed back in lower case without dashes, as a person would
    const claimed = await call("usr-alice", "POST", claimUrl(orgA), {
      siteId: siteA,
      claimCode: claimCode.replaceAll("-", "").toLowerCase(),
    });
    expect(claimed.statusCode).toBe(200);
    expect(claimed.json()).toMatchObject({ orgId: orgA, previousOrgId: orgB });
    const reused = await call("usr-bob", "POST", claimUrl(orgB), { claimCode });
    expect(reused.statusCode).toBe(403);
    expect((await r.db.gatewayClaim.findUnique({ where: { gatewayId } }))?.orgId).toBe(orgA);

    const late = (await r.app.inject({ method: "POST", url: codeUrl, headers: asGateway })).json().claimCode;
    await r.db.gatewayClaimCode.update({
      where: { gatewayId },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect((await call("usr-bob", "POST", claimUrl(orgB), { claimCode: late })).statusCode).toBe(403);
  });
});
