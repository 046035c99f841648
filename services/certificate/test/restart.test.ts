import { startAnvil } from "@energy/infra/anvil";
import { type ServiceProcess, spawnService } from "@energy/service-kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CertificateHarness, issuanceRequest, serviceDir, startCertificate } from "./helpers.ts";

// The real server.ts, SIGKILLed after its transaction was sent and before its receipt: restarted, it
// finds the receipt of the same transaction (nonce and bytes kept in the database), and the chain holds
// one token. The harness only publishes and reads; the service under test is the child process.
let h: CertificateHarness;
let child: ServiceProcess | undefined;

const startServer = async () => {
  child = await spawnService(
    serviceDir,
    { ...h.env, REGISTRY_ADDRESS: h.chain.registryAddress, LOG_LEVEL: "warn" },
    { timeoutMs: 60_000 },
  );
  return child;
};

beforeAll(async () => {
  const anvil = await startAnvil();
  h = await startCertificate({ anvil, env: { CONFIRMATIONS: "1" } });
  // Only the child process sends and consumes: the harness's own service stops (its database stays).
  await h.stopService();
});
afterAll(async () => {
  await child?.kill();
  await h?.close();
  await h?.anvil.stop();
});

describe("killed between send and receipt", () => {
  // Two cold starts of the real server (tsx) on a shared 2-core machine: allow them their time.
  it("restarts to the same transaction: one token, no nonce gap", { timeout: 120_000 }, async () => {
    await h.rpc("evm_setAutomine", [false]);
    const first = await startServer();
    const request = issuanceRequest({ buyerAddress: h.buyer.address });
    await h.publishRequest(request);
    const sent = await h.waitFor(
      "the transaction sent",
      async () => {
        const tx = await h.db.chainTx.findFirst({ where: { status: "sent" } });
        return tx ?? undefined;
      },
      40_000,
    );
    await first.kill();
    await h.rpc("evm_mine"); // mined while the service is down
    await h.rpc("evm_setAutomine", [true]);

    await startServer();
    const c = await h.certificateOf(request.requestId, "confirmed", 40_000);
    expect(c.txHash).toBe(sent.txHash);
    expect(await h.registry.lastTokenId!()).toBe(1n);
    expect(await h.registry.balanceOf!(h.buyer.address, BigInt(c.tokenId!))).toBe(4_500n);
    expect(await h.db.chainTx.count()).toBe(1);
    const signer = h.chain.wallet.address;
    const nonce = await h.db.signerNonce.findUniqueOrThrow({ where: { signer } });
    expect(nonce.nextNonce).toBe(await h.provider.getTransactionCount(signer, "latest"));
  });
});
