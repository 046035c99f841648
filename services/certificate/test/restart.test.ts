import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { startAnvil } from "@energy/infra/anvil";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CertificateHarness, issuanceRequest, serviceDir, startCertificate } from "./helpers.ts";

// The real server.ts, SIGKILLed after its transaction was sent and before its receipt: restarted, it
// finds the receipt of the same transaction (nonce and bytes kept in the database), and the chain holds
// one token. The harness only publishes and reads; the service under test is the child process.
let h: CertificateHarness;
let child: ChildProcess | undefined;

const startServer = () => {
  const proc = spawn(process.execPath, ["--import", "tsx", join(serviceDir, "src/server.ts")], {
    cwd: serviceDir,
    env: { ...process.env, ...h.env, REGISTRY_ADDRESS: h.parts.chain.registryAddress, LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  child = proc;
  return proc;
};

beforeAll(async () => {
  const anvil = await startAnvil();
  h = await startCertificate({ anvil, env: { CONFIRMATIONS: "1" } });
  // Only the child process sends and consumes: the harness's own parts stop (its database stays).
  await h.stopParts();
});
afterAll(async () => {
  child?.kill("SIGKILL");
  await h?.close();
  await h?.anvil.stop();
});

describe("killed between send and receipt", () => {
  // Two cold starts of the real server (tsx) on a shared 2-core machine: allow them their time.
  it("restarts to the same transaction: one token, no nonce gap", { timeout: 120_000 }, async () => {
    await h.rpc("evm_setAutomine", [false]);
    const first = startServer();
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
    first.kill("SIGKILL");
    await new Promise((resolve) => first.once("exit", resolve));
    await h.rpc("evm_mine"); // mined while the service is down
    await h.rpc("evm_setAutomine", [true]);

    startServer();
    const c = await h.certificateOf(request.requestId, "confirmed", 40_000);
    expect(c.txHash).toBe(sent.txHash);
    expect(await h.registry.lastTokenId!()).toBe(1n);
    expect(await h.registry.balanceOf!(h.buyer.address, BigInt(c.tokenId!))).toBe(4_500n);
    expect(await h.db.chainTx.count()).toBe(1);
    const signer = h.parts.chain.wallet.address;
    const nonce = await h.db.signerNonce.findUniqueOrThrow({ where: { signer } });
    expect(nonce.nextNonce).toBe(await h.provider.getTransactionCount(signer, "latest"));
  });
});
