import { waitFor } from "@energy/testing";
import { Transaction, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FEE_PERCENTILES, feesForTier } from "../src/domain/gas.ts";
import { type CertificateHarness, issuanceRequest, OTHER_KEY, startCertificate } from "./helpers.ts";

// Gas tiers on a real chain: fees from eth_feeHistory, a stuck transaction replaced with higher fees
// under the same nonce (anvil with automine off), and the fee cap never exceeded.
const GWEI = 1_000_000_000n;

interface Attempt {
  hash: string;
  raw: string;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
}

describe("gas tiers and replacement", () => {
  let h: CertificateHarness;
  beforeAll(async () => {
    h = await startCertificate({ env: { DEFAULT_GAS_TIER: "fast", FAST_TIER_SECONDS: "1" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("prices each tier from the chain's recent priority fees", async () => {
    // Other users' transactions pay tips of 1..9 gwei, one per block.
    const other = new Wallet(OTHER_KEY, h.provider);
    for (let tip = 1n; tip <= 9n; tip++) {
      const tx = await other.sendTransaction({
        to: other.address,
        value: 1n,
        maxPriorityFeePerGas: tip * GWEI,
        maxFeePerGas: 50n * GWEI,
      });
      await tx.wait();
    }
    const fast = await h.sender.fees("fast");
    const standard = await h.sender.fees("standard");
    const slow = await h.sender.fees("slow");
    expect(fast.maxPriorityFeePerGas).toBeGreaterThan(standard.maxPriorityFeePerGas);
    expect(standard.maxPriorityFeePerGas).toBeGreaterThan(slow.maxPriorityFeePerGas);
    expect(fast.maxFeePerGas).toBeGreaterThan(slow.maxFeePerGas);
    // The same figures as the rule computes from the history the node reports.
    const raw = (await h.rpc("eth_feeHistory", [20, "latest", [...FEE_PERCENTILES]])) as {
      baseFeePerGas: string[];
      reward: string[][];
    };
    const history = {
      baseFeePerGas: raw.baseFeePerGas.map(BigInt),
      reward: raw.reward.map((r) => r.map(BigInt)),
    };
    const caps = { maxFeePerGas: 200n * GWEI, maxPriorityFeePerGas: 20n * GWEI };
    expect(feesForTier(history, "fast", caps)).toEqual(fast);
    expect(fast.maxPriorityFeePerGas).toBeGreaterThanOrEqual(8n * GWEI); // the 90th percentile of 1..9 gwei
  });

  it("replaces a transaction stuck longer than its tier with higher fees, same nonce; one token once mined", async () => {
    await h.rpc("evm_setAutomine", [false]);
    const request = issuanceRequest({ buyerAddress: h.buyer.address });
    await h.publishRequest(request);
    const replaced = await waitFor("a replacement", async () => {
      const c = await h.db.certificate.findUnique({ where: { requestId: request.requestId } });
      if (!c?.chainTxId) return undefined;
      const tx = await h.db.chainTx.findUnique({ where: { id: c.chainTxId } });
      return tx && (tx.attempts as unknown as Attempt[]).length >= 2 ? tx : undefined;
    });
    const [first, second] = replaced.attempts as unknown as Attempt[];
    expect(second!.hash).not.toBe(first!.hash);
    expect(BigInt(second!.maxFeePerGas) * 10n).toBeGreaterThanOrEqual(BigInt(first!.maxFeePerGas) * 11n);
    expect(BigInt(second!.maxPriorityFeePerGas) * 10n).toBeGreaterThanOrEqual(
      BigInt(first!.maxPriorityFeePerGas) * 11n,
    );
    const log = await h.db.issuanceLog.findMany({
      where: { requestId: request.requestId, event: "replaced" },
    });
    expect(log.length).toBeGreaterThanOrEqual(1);

    await h.rpc("evm_setAutomine", [true]);
    await h.mine(1);
    const issued = await h.certificateOf(request.requestId, "issued");
    const tx = await h.db.chainTx.findUniqueOrThrow({ where: { id: issued.chainTxId! } });
    const hashes = (tx.attempts as unknown as Attempt[]).map((a) => a.hash);
    expect(hashes).toContain(issued.txHash);
    expect(issued.txHash).not.toBe(first!.hash); // a replacement was mined, not the stuck original
    // Same nonce: what was mined replaced the original (one of the two only can be in the chain).
    const minedTx = await h.provider.getTransaction(issued.txHash!);
    expect(minedTx!.nonce).toBe(Transaction.from(first!.raw).nonce);
    expect(minedTx!.nonce).toBe(tx.nonce);
    expect(await h.provider.getTransactionReceipt(first!.hash)).toBeNull();
    expect(await h.registry.balanceOf!(h.buyer.address, BigInt(issued.tokenId!))).toBe(4_500n);
    // The nonce was used once: the next one is the chain's.
    const nonce = await h.db.signerNonce.findUniqueOrThrow({
      where: { signer: h.chain.wallet.address },
    });
    expect(nonce.nextNonce).toBe(await h.provider.getTransactionCount(h.chain.wallet.address, "latest"));
  });
});

describe("fee cap", () => {
  let h: CertificateHarness;
  beforeAll(async () => {
    h = await startCertificate({
      env: {
        DEFAULT_GAS_TIER: "fast",
        FAST_TIER_SECONDS: "0.3",
        MAX_FEE_PER_GAS_GWEI: "3",
        MAX_PRIORITY_FEE_PER_GAS_GWEI: "1.5",
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("never prices a transaction above the cap, replacements included", async () => {
    await h.rpc("evm_setAutomine", [false]);
    const request = issuanceRequest({ buyerAddress: h.buyer.address });
    await h.publishRequest(request);
    // The fast tier wants a 2 gwei tip: capped at 1.5; bumps stop at 3 gwei.
    const atCap = await h.waitFor("replacements up to the cap", async () => {
      const c = await h.db.certificate.findUnique({ where: { requestId: request.requestId } });
      if (!c?.chainTxId) return undefined;
      const tx = await h.db.chainTx.findUniqueOrThrow({ where: { id: c.chainTxId } });
      return tx.maxFeePerGas === 3n * GWEI || (tx.attempts as unknown as Attempt[]).length >= 4
        ? tx
        : undefined;
    });
    // Two more tier periods pass at the cap (the sender prices it again each time, and cannot go higher).
    let seen = atCap.pricedAt.getTime();
    for (let period = 0; period < 2; period++) {
      seen = await h.waitFor("another tier period at the cap", async () => {
        const row = await h.db.chainTx.findUniqueOrThrow({ where: { id: atCap.id } });
        return row.pricedAt.getTime() > seen ? row.pricedAt.getTime() : undefined;
      });
    }
    const tx = await h.db.chainTx.findUniqueOrThrow({ where: { id: atCap.id } });
    expect(tx.maxFeePerGas).toBe(3n * GWEI);
    for (const attempt of tx.attempts as unknown as Attempt[]) {
      expect(BigInt(attempt.maxFeePerGas)).toBeLessThanOrEqual(3n * GWEI);
      expect(BigInt(attempt.maxPriorityFeePerGas)).toBeLessThanOrEqual(1_500_000_000n);
    }
    await h.rpc("evm_setAutomine", [true]);
    await h.mine(1);
    const issued = await h.certificateOf(request.requestId, "issued");
    const mined = await h.provider.getTransaction(issued.txHash!);
    expect(mined!.maxFeePerGas!).toBeLessThanOrEqual(3n * GWEI);
  });
});
