import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Anvil, startAnvil } from "@energy/infra/anvil";
import { type ServiceProcess, spawnService } from "@energy/service-kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CertificateHarness, issuanceRequest, serviceDir, startCertificate } from "./helpers.ts";

// The real server.ts, SIGKILLed between signing a transaction and knowing it was sent: a JSON-RPC proxy
// between the service and anvil passes eth_sendRawTransaction on to the node but, while `sendsLost`,
// answers it with an error (the connection broke after the node took it). The database then holds the
// transaction as "signed" while the node has it. Restarted, the service resends the same bytes: the
// chain holds one token, the nonce is used once, one transaction, one certificate.issued.
const LOST = "connection reset (test proxy)";

let anvil: Anvil;
let proxy: Server;
let proxyUrl: string;
let sendsLost = false;
let h: CertificateHarness;
let child: ServiceProcess | undefined;

interface RpcCall {
  id: number;
  method: string;
}

beforeAll(async () => {
  anvil = await startAnvil();
  proxy = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const calls = JSON.parse(Buffer.concat(chunks).toString()) as RpcCall | RpcCall[];
    const list = Array.isArray(calls) ? calls : [calls];
    const answers = await Promise.all(
      list.map(async (c) => {
        const r = await fetch(anvil.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(c),
        });
        const answer = await r.json();
        // The node took the transaction; the service never hears so.
        if (sendsLost && c.method === "eth_sendRawTransaction")
          return { jsonrpc: "2.0", id: c.id, error: { code: -32000, message: LOST } };
        return answer;
      }),
    );
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(Array.isArray(calls) ? answers : answers[0]));
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  h = await startCertificate({ anvil, env: { CONFIRMATIONS: "1" } });
  // Only the child process sends and consumes: the harness's own service stops (its database stays).
  await h.stopService();
});
afterAll(async () => {
  await child?.kill();
  await h?.close();
  await new Promise((resolve) => proxy?.close(resolve));
  await anvil?.stop();
});

const startServer = async () => {
  child = await spawnService(
    serviceDir,
    { ...h.env, CHAIN_RPC_URL: proxyUrl, REGISTRY_ADDRESS: h.chain.registryAddress, LOG_LEVEL: "error" },
    { timeoutMs: 60_000 },
  );
  return child;
};

describe("killed between sign and send", () => {
  it("restarts to the same signed transaction: one token, no nonce gap", { timeout: 120_000 }, async () => {
    await h.rpc("evm_setAutomine", [false]);
    sendsLost = true;
    const first = await startServer();
    const request = issuanceRequest({ buyerAddress: h.buyer.address });
    await h.publishRequest(request);
    // Signed and stored, taken by the node, but not known as sent.
    const signed = await h.waitFor(
      "the transaction signed and in the node's pool",
      async () => {
        const tx = await h.db.chainTx.findFirst({ where: { status: "signed" } });
        return tx && (await h.provider.getTransaction(tx.txHash)) ? tx : undefined;
      },
      40_000,
    );
    await first.kill();
    expect((await h.db.chainTx.findUniqueOrThrow({ where: { id: signed.id } })).status).toBe("signed");
    await h.rpc("evm_mine"); // mined while the service is down
    await h.rpc("evm_setAutomine", [true]);
    sendsLost = false;

    await startServer();
    const c = await h.certificateOf(request.requestId, "confirmed", 40_000);
    expect(c.txHash).toBe(signed.txHash);
    expect(await h.registry.lastTokenId!()).toBe(1n);
    expect(await h.registry.balanceOf!(h.buyer.address, BigInt(c.tokenId!))).toBe(4_500n);
    expect(await h.db.chainTx.count()).toBe(1);
    const signer = h.chain.wallet.address;
    const nonce = await h.db.signerNonce.findUniqueOrThrow({ where: { signer } });
    expect(nonce.nextNonce).toBe(signed.nonce + 1);
    expect(nonce.nextNonce).toBe(await h.provider.getTransactionCount(signer, "latest"));
    await h.result("certificate.confirmed", (p) => p.requestId === request.requestId);
    expect(
      h.events.filter((e) => e.type === "certificate.issued" && e.payload.requestId === request.requestId),
    ).toHaveLength(1);
  });
});
