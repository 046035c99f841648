import { type ServiceProcess, spawnService } from "@energy/service-kit/testing";
import { Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLAIMS_CURSOR } from "../src/chain/claim-watcher.ts";
import {
  type CertificateHarness,
  issuanceRequest,
  OTHER_KEY,
  serviceDir,
  startCertificate,
} from "./helpers.ts";

// A buyer holding its own key claims on chain (the registry's `claim`, signed with ethers by the owner's
// wallet); the service picks the claim up from the ClaimSingle events once it has CONFIRMATIONS (2)
// confirmations: recorded, counted on the certificate, shown by the API and /verify, published. A claim in
// a block a reorganization (snapshot and revert) dropped is not kept; a restart does not record it twice.
let h: CertificateHarness;
let child: ServiceProcess | undefined;
let owner: Wallet;
let certificateId: string;
let tokenId: bigint;
const member = "usr-self-custody";

const claimOnChain = async (amountWh: number, beneficiary: string) => {
  const data = new TextEncoder().encode(JSON.stringify({ beneficiary, purpose: "scope 2" }));
  const tx = await h.registry.connect(owner).getFunction("claim")(tokenId, amountWh, data);
  const receipt = await tx.wait();
  return { hash: tx.hash as string, block: Number(receipt!.blockNumber) };
};
/** Waits until the watcher has read every block with CONFIRMATIONS confirmations. */
const caughtUp = () =>
  h.waitFor("the claim watcher caught up with the chain", async () => {
    const head = await h.provider.getBlockNumber();
    const cursor = await h.db.chainCursor.findUnique({ where: { name: CLAIMS_CURSOR } });
    return cursor && Number(cursor.block) >= head - 1 && cursor.blockHash ? cursor : undefined;
  });
/** Waits until the watcher has seen the chain at `block` (or later) and read what is confirmed there. */
const seenHead = (block: number) =>
  h.waitFor(`the claim watcher to have seen block ${block}`, async () => {
    const metrics = (await h.app.inject({ url: "/metrics" })).body;
    const line = metrics.match(/^certificate_chain_claims_synced_head_block(?:\{[^}]*\})? (\S+)$/m);
    return line && Number(line[1]) >= block ? true : undefined;
  });
const claimedWh = async () =>
  Number((await h.db.certificate.findUniqueOrThrow({ where: { id: certificateId } })).claimedWh);

beforeAll(async () => {
  h = await startCertificate();
  owner = new Wallet(OTHER_KEY, h.provider);
  await h.db.membership.create({ data: { orgId: "org-buyer", identityId: member, role: "admin" } });
  const request = issuanceRequest({ buyerAddress: owner.address });
  await h.publishRequest(request);
  await h.certificateOf(request.requestId, "issued");
  await h.mine(1);
  const c = await h.certificateOf(request.requestId, "confirmed");
  certificateId = c.id;
  tokenId = BigInt(c.tokenId!);
});
afterAll(async () => {
  await child?.kill();
  await h?.close();
});

describe("self-custody claims, read from the chain's events", () => {
  it("records a claim the owner made with its own key once it is confirmed: API, /verify and the topic show it", async () => {
    const { hash, block } = await claimOnChain(1_000, "Acme school");
    // Mined, one confirmation: the watcher has seen it and not taken it.
    await seenHead(block);
    expect(await h.db.claim.count({ where: { txHash: hash } })).toBe(0);
    await h.mine(1);
    const claim = await h.waitFor("the chain claim recorded", async () =>
      h.db.claim.findFirst({ where: { txHash: hash } }),
    );
    expect(claim).toMatchObject({ source: "chain", status: "confirmed", beneficiary: "Acme school" });
    expect(await claimedWh()).toBe(1_000);

    const list = await h.app.inject({
      url: `/organizations/org-buyer/certificates/${certificateId}/claims`,
      headers: h.auth(member),
    });
    expect(list.json().claims).toEqual([
      expect.objectContaining({ amountWh: 1_000, source: "chain", status: "confirmed", txHash: hash }),
    ]);
    const verify = await h.app.inject({ url: `/verify/${tokenId}` });
    expect(verify.json()).toMatchObject({
      verified: true,
      checks: { claimed: true, owner: true },
      chain: { claimedWh: "1000", ownerBalanceWh: "3500" },
    });
    expect(await h.result("certificate.claimed", (p) => p.txHash === hash)).toMatchObject({
      certificateId,
      claimId: claim.id,
      tokenId: tokenId.toString(),
      ownerAddress: owner.address,
      amountWh: 1_000,
      beneficiary: "Acme school",
      source: "chain",
    });
  });

  it("does not keep a claim whose block a reorganization dropped, before or after it was recorded", async () => {
    // Dropped before it had its confirmations: never recorded.
    let snapshot = (await h.rpc("evm_snapshot")) as string;
    const early = await claimOnChain(200, "Dropped early");
    await seenHead(early.block);
    expect(await h.db.claim.count({ where: { txHash: early.hash } })).toBe(0);
    await h.rpc("evm_revert", [snapshot]);
    await h.mine(3);
    await caughtUp();
    expect(await h.db.claim.count({ where: { txHash: early.hash } })).toBe(0);
    expect(await claimedWh()).toBe(1_000);

    // Dropped after it was recorded (a reorganization deeper than CONFIRMATIONS): undone.
    snapshot = (await h.rpc("evm_snapshot")) as string;
    const late = await claimOnChain(300, "Dropped late");
    await h.mine(1);
    await h.waitFor("the claim recorded", async () => h.db.claim.findFirst({ where: { txHash: late.hash } }));
    expect(await claimedWh()).toBe(1_300);
    await h.rpc("evm_revert", [snapshot]);
    await h.mine(4);
    await h.waitFor(
      "the dropped claim undone",
      async () => (await h.db.claim.count({ where: { txHash: late.hash } })) === 0,
    );
    await caughtUp();
    expect(await claimedWh()).toBe(1_000);
    expect(await h.registry.claimedBalanceOf!(owner.address, tokenId)).toBe(1_000n);
    const log = await h.db.issuanceLog.findFirst({ where: { certificateId, event: "claim-reorged" } });
    expect(log?.detail).toMatchObject({ txHash: late.hash, amountWh: "300" });
    expect(await h.result("certificate.unclaimed", (p) => p.txHash === late.hash)).toMatchObject({
      certificateId,
      amountWh: 300,
      droppedBlock: late.block,
    });
    const verify = await h.app.inject({ url: `/verify/${tokenId}` });
    expect(verify.json()).toMatchObject({ verified: true, chain: { claimedWh: "1000" } });
  });

  it("does not count the service's own API claims a second time", async () => {
    const request = issuanceRequest({ buyerAddress: h.buyer.address });
    await h.publishRequest(request);
    await h.certificateOf(request.requestId, "issued");
    await h.mine(1);
    const c = await h.certificateOf(request.requestId, "confirmed");
    await (
      await h.registry.connect(h.buyer).getFunction("setApprovalForAll")(h.chain.wallet.address, true)
    ).wait();
    const res = await h.app.inject({
      method: "POST",
      url: `/organizations/org-buyer/certificates/${c.id}/claims`,
      headers: h.auth(member),
      payload: { amountWh: 700, beneficiary: "Custodial" },
    });
    expect(res.statusCode).toBe(202);
    await h.waitFor(
      "the API claim mined",
      async () => (await h.db.claim.findUnique({ where: { id: res.json().claimId } }))?.txHash ?? undefined,
    );
    await h.mine(2);
    await h.waitFor(
      "the API claim confirmed",
      async () =>
        (await h.db.claim.findUnique({ where: { id: res.json().claimId } }))?.status === "confirmed",
    );
    await caughtUp();
    expect(await h.db.claim.count({ where: { certificateId: c.id } })).toBe(1);
    expect(Number((await h.db.certificate.findUniqueOrThrow({ where: { id: c.id } })).claimedWh)).toBe(700);
  });

  // A cold start of the real server (tsx) on a shared 2-core machine: allow it its time.
  it("a restart (the real server.ts, its cursor rewound) records no claim twice", {
    timeout: 120_000,
  }, async () => {
    const before = await h.db.claim.count();
    const published = h.events.filter((e) => e.type === "certificate.claimed").length;
    await h.stopService();
    // Read everything again from the start: (transaction, log index) keeps each claim once.
    await h.db.chainCursor.update({ where: { name: CLAIMS_CURSOR }, data: { block: 0n, blockHash: null } });
    child = await spawnService(
      serviceDir,
      { ...h.env, REGISTRY_ADDRESS: h.chain.registryAddress, LOG_LEVEL: "warn" },
      { timeoutMs: 60_000 },
    );
    await h.mine(2);
    await caughtUp();
    const { hash } = await claimOnChain(500, "After the restart");
    await h.mine(1);
    await h.waitFor("the new claim recorded", async () => h.db.claim.findFirst({ where: { txHash: hash } }));
    expect(await h.db.claim.count()).toBe(before + 1);
    expect(await claimedWh()).toBe(1_500);
    await h.result("certificate.claimed", (p) => p.txHash === hash);
    expect(h.events.filter((e) => e.type === "certificate.claimed")).toHaveLength(published + 1);
  });
});
