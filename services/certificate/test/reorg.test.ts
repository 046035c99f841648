import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CertificateHarness, issuanceRequest, startCertificate } from "./helpers.ts";

// A reorganization (anvil snapshot and revert) drops the block a mint was in before it was confirmed:
// the service notices, sends the same transaction again, and confirms it in its new block. One token.
let h: CertificateHarness;
beforeAll(async () => {
  h = await startCertificate({ env: { CONFIRMATIONS: "3" } });
});
afterAll(async () => {
  await h?.close();
});

describe("reorganization", () => {
  it("resends a mint a reorganization dropped and confirms it in its new block", async () => {
    const snapshot = (await h.rpc("evm_snapshot")) as string;
    const request = issuanceRequest({ buyerAddress: h.buyer.address });
    await h.publishRequest(request);
    const first = await h.certificateOf(request.requestId, "issued");
    const droppedBlock = Number(first.blockNumber);

    // The chain goes back to before the mint; another block takes its height.
    await h.rpc("evm_revert", [snapshot]);
    await h.mine(1);
    await h.waitFor("the reorganization noticed", async () =>
      h.db.issuanceLog.findFirst({ where: { requestId: request.requestId, event: "reorged" } }),
    );
    const again = await h.waitFor("mined again", async () => {
      const c = await h.db.certificate.findUnique({ where: { requestId: request.requestId } });
      return c?.status === "issued" && Number(c.blockNumber) !== droppedBlock ? c : undefined;
    });
    await h.mine(3);
    const confirmed = await h.certificateOf(request.requestId, "confirmed");
    expect(Number(confirmed.blockNumber)).toBe(Number(again.blockNumber));
    const block = await h.provider.getBlock(Number(confirmed.blockNumber));
    expect(block?.transactions).toContain(confirmed.txHash);
    const tokenId = BigInt(confirmed.tokenId!);
    expect(await h.registry.balanceOf!(h.buyer.address, tokenId)).toBe(4_500n);
    expect(await h.registry.lastTokenId!()).toBe(1n); // one token, ever
    // Its granular ids were given at the first mint and kept: the devices' counters moved once.
    expect(confirmed.bundleStarts).toEqual({ "dev-1": 1, "dev-2": 1 });
    expect(confirmed.bundleStarts).toEqual(first.bundleStarts);
    const counters = await h.db.deviceBundleCounter.findMany({ orderBy: { deviceId: "asc" } });
    expect(counters.map((c) => [c.deviceId, c.nextId])).toEqual([
      ["dev-1", 3_001n],
      ["dev-2", 1_501n],
    ]);
    const issued = await h.result("certificate.confirmed", (p) => p.requestId === request.requestId);
    expect(issued).toMatchObject({ tokenId: confirmed.tokenId, blockNumber: Number(confirmed.blockNumber) });
    expect(
      h.events.filter((e) => e.type === "certificate.issued" && e.payload.requestId === request.requestId),
    ).toHaveLength(2);
  });
});
