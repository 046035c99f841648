import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Anvil, startAnvil } from "@energy/infra/anvil";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CertificateHarness, issuanceRequest, startCertificate } from "./helpers.ts";

// MAX_SEND_ATTEMPTS: the service talks to anvil through a JSON-RPC proxy that, while `overloaded`,
// answers eth_estimateGas with an error (a node in trouble). A request whose transaction cannot be
// prepared is retried with backoff, then ends failed with the reason after the configured number of
// attempts, published as certificate.failed; no nonce is used, and the next request is minted.
const NODE_ERROR = "node overloaded (test proxy)";

let anvil: Anvil;
let proxy: Server;
let overloaded = false;
/** Every call refused (the node unreachable), counted. */
let down = false;
let refusedWhileDown = 0;
let h: CertificateHarness;

interface RpcCall {
  id: number;
  method: string;
}

beforeAll(async () => {
  anvil = await startAnvil();
  proxy = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    const calls = JSON.parse(body) as RpcCall | RpcCall[];
    const refused = (c: RpcCall) => down || (overloaded && c.method === "eth_estimateGas");
    if (down) refusedWhileDown++;
    const list = Array.isArray(calls) ? calls : [calls];
    if (!list.some(refused)) {
      const forwarded = await fetch(anvil.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      res.writeHead(forwarded.status, { "content-type": "application/json" });
      res.end(await forwarded.text());
      return;
    }
    // Answer each call of the batch: the refused ones with the error, the others from anvil.
    const answers = await Promise.all(
      list.map(async (c) => {
        if (refused(c)) return { jsonrpc: "2.0", id: c.id, error: { code: -32000, message: NODE_ERROR } };
        const r = await fetch(anvil.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(c),
        });
        return r.json();
      }),
    );
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(Array.isArray(calls) ? answers : answers[0]));
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const { port } = proxy.address() as AddressInfo;
  h = await startCertificate({
    anvil,
    env: { CHAIN_RPC_URL: `http://127.0.0.1:${port}`, MAX_SEND_ATTEMPTS: "3", CONFIRMATIONS: "1" },
  });
});
afterAll(async () => {
  await h?.close();
  await new Promise((resolve) => proxy?.close(resolve));
  await anvil?.stop();
});

describe("a transaction that cannot be prepared", () => {
  it("ends failed with its reason after MAX_SEND_ATTEMPTS, uses no nonce, and the sender goes on", async () => {
    overloaded = true;
    const request = issuanceRequest({ buyerAddress: h.buyer.address });
    await h.publishRequest(request);
    const failed = await h.certificateOf(request.requestId, "failed");
    expect(failed.sendAttempts, failed.failureReason ?? "").toBe(3);
    expect(failed.failureReason).toContain("not sent after 3 attempts");
    expect(failed.failureReason).toContain(NODE_ERROR);
    expect(failed.chainTxId).toBeNull();
    expect(await h.result("certificate.failed", (p) => p.requestId === request.requestId)).toMatchObject({
      reason: failed.failureReason,
      txHash: null,
      energyWh: 4_500,
    });
    const log = await h.db.issuanceLog.findMany({ where: { requestId: request.requestId, event: "failed" } });
    expect(log).toHaveLength(1);
    expect(await h.db.chainTx.count()).toBe(0);
    const signer = h.chain.wallet.address;
    const nonce = await h.db.signerNonce.findUniqueOrThrow({ where: { signer } });
    expect(nonce.nextNonce).toBe(await h.provider.getTransactionCount(signer, "latest"));

    overloaded = false;
    const next = issuanceRequest({ buyerAddress: h.buyer.address });
    await h.publishRequest(next);
    const issued = await h.certificateOf(next.requestId, "issued");
    expect(await h.registry.balanceOf!(h.buyer.address, BigInt(issued.tokenId!))).toBe(4_500n);
    expect((await h.db.certificate.findUniqueOrThrow({ where: { id: failed.id } })).status).toBe("failed");
  });
});

describe("the node unreachable while a transaction is in flight", () => {
  it("retries with backoff and follows the same transaction to its confirmation once the node answers", async () => {
    await h.rpc("evm_setAutomine", [false]);
    const request = issuanceRequest({ buyerAddress: h.buyer.address });
    await h.publishRequest(request);
    const sent = await h.waitFor("the transaction sent", async () => {
      const c = await h.db.certificate.findUnique({ where: { requestId: request.requestId } });
      if (!c?.chainTxId) return undefined;
      const tx = await h.db.chainTx.findUnique({ where: { id: c.chainTxId } });
      return tx?.status === "sent" ? tx : undefined;
    });
    down = true;
    await h.rpc("evm_mine"); // mined while the service cannot see it
    await h.waitFor("several refused calls", async () => refusedWhileDown >= 6);
    // Still in flight, not failed: a signed transaction is never given up.
    expect(
      (await h.db.certificate.findUniqueOrThrow({ where: { requestId: request.requestId } })).status,
    ).toBe("requested");
    down = false;
    await h.rpc("evm_setAutomine", [true]);
    await h.mine(1);
    const c = await h.certificateOf(request.requestId, "confirmed");
    expect(c.txHash).toBe(sent.txHash);
    expect(c.chainTxId).toBe(sent.id);
    expect(await h.registry.balanceOf!(h.buyer.address, BigInt(c.tokenId!))).toBe(4_500n);
    expect(await h.db.chainTx.count({ where: { nonce: sent.nonce } })).toBe(1);
  });
});
