import { ANVIL_KEYS, type Anvil, startAnvil } from "@energy/infra/anvil";
import { type Contract, JsonRpcProvider, keccak256, toUtf8Bytes, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkRegistry, connectChain } from "../src/chain/connect.ts";
import {
  decodeRevert,
  deployRegistry,
  issuanceKeyOf,
  registryAbi,
  registryAt,
} from "../src/chain/registry.ts";
import type { Config } from "../src/config.ts";

// The CertificateRegistry on a real chain (anvil): what the contract itself guarantees, whatever the
// service does.
let anvil: Anvil;
let provider: JsonRpcProvider;
let issuer: Wallet;
let buyer: Wallet;
let stranger: Wallet;
let asIssuer: Contract;
let asBuyer: Contract;
let asStranger: Contract;
const doc = (text: string) => keccak256(toUtf8Bytes(text));
/** The registry's custom error a refused call ends with. */
const refusal = (call: Promise<unknown>) =>
  call.then(
    () => null,
    (error: unknown) => decodeRevert(error),
  );

beforeAll(async () => {
  anvil = await startAnvil();
  provider = new JsonRpcProvider(anvil.url, undefined, {
    staticNetwork: true,
    pollingInterval: 50,
    cacheTimeout: -1,
  });
  issuer = new Wallet(ANVIL_KEYS[0], provider);
  buyer = new Wallet(ANVIL_KEYS[1], provider);
  stranger = new Wallet(ANVIL_KEYS[2], provider);
  const address = await deployRegistry(issuer);
  asIssuer = registryAt(address, issuer);
  asBuyer = registryAt(address, buyer);
  asStranger = registryAt(address, stranger);
});
afterAll(async () => {
  provider?.destroy();
  await anvil?.stop();
});

const eventsOf = async (tx: { wait(): Promise<unknown> }) => {
  const receipt = (await tx.wait()) as { logs: Array<{ topics: string[]; data: string }> };
  return receipt.logs.flatMap((log) => {
    const parsed = registryAbi.parseLog(log);
    return parsed ? [parsed] : [];
  });
};

describe("CertificateRegistry on anvil", () => {
  it("issues a certificate to an address: Wh as the amount, the document hash as its data", async () => {
    const key = issuanceKeyOf("req-single");
    const events = await eventsOf(await asIssuer.issue!(buyer.address, 1_234_567n, key, doc("single")));
    const issued = events.find((e) => e.name === "CertificateIssued")!;
    const id = issued.args.id as bigint;
    expect(issued.args.to).toBe(buyer.address);
    expect(issued.args.value).toBe(1_234_567n);
    expect(events.find((e) => e.name === "TransferSingle")?.args.to).toBe(buyer.address);
    expect(events.find((e) => e.name === "IssuanceSingle")?.args._value).toBe(1_234_567n);
    expect(await asIssuer.balanceOf!(buyer.address, id)).toBe(1_234_567n);
    expect(await asIssuer.tokenIdByIssuanceKey!(key)).toBe(id);
    const [certIssuer, topic, validity, data] = await asIssuer.getCertificate!(id);
    expect(certIssuer).toBe(await issuer.address);
    expect(topic).toBe(1n);
    expect(validity).toBe(key);
    expect(data).toBe(doc("single"));
  });

  it("never mints the same issuance key twice", async () => {
    const key = issuanceKeyOf("req-twice");
    await (await asIssuer.issue!(buyer.address, 10n, key, doc("a"))).wait();
    const id = await asIssuer.tokenIdByIssuanceKey!(key);
    expect(await refusal(asIssuer.issue!(buyer.address, 10n, key, doc("b")))).toMatchObject({
      name: "AlreadyIssued",
      args: [key, id],
    });
    const batch = [buyer.address, buyer.address];
    expect(
      await refusal(
        asIssuer.batchIssue!(batch, [1n, 2n], [issuanceKeyOf("fresh"), key], [doc("c"), doc("d")]),
      ),
    ).toMatchObject({ name: "AlreadyIssued" });
    expect(await asIssuer.tokenIdByIssuanceKey!(issuanceKeyOf("fresh"))).toBe(0n); // all or none
  });

  it("lets only the issuer issue or log reservations", async () => {
    expect(
      await refusal(asStranger.issue!(stranger.address, 1n, issuanceKeyOf("x"), doc("x"))),
    ).toMatchObject({ name: "NotIssuer", args: [stranger.address] });
    expect(
      await refusal(asStranger.logReservation!("res-1", stranger.address, doc("devices"), 1n, 2n, 0)),
    ).toMatchObject({ name: "NotIssuer" });
    expect(
      await refusal(asStranger.batchIssue!([stranger.address], [1n], [issuanceKeyOf("y")], [doc("y")])),
    ).toMatchObject({ name: "NotIssuer" });
    // Nor make itself the issuer.
    expect(await refusal(asStranger.setIssuer!(stranger.address))).toMatchObject({ name: "NotIssuer" });
    expect(await asStranger.issuer!()).toBe(issuer.address);
    // Refusals change nothing on chain.
    expect(await asIssuer.tokenIdByIssuanceKey!(issuanceKeyOf("x"))).toBe(0n);
    expect(await asIssuer.tokenIdByIssuanceKey!(issuanceKeyOf("y"))).toBe(0n);
  });

  it("issues a batch to several owners in one transaction, with consecutive token ids", async () => {
    const keys = [1, 2, 3].map((i) => issuanceKeyOf(`req-batch-${i}`));
    const owners = [buyer.address, stranger.address, buyer.address];
    const tx = await asIssuer.batchIssue!(owners, [100n, 200n, 300n], keys, [doc("1"), doc("2"), doc("3")]);
    const events = await eventsOf(tx);
    const ids = events.filter((e) => e.name === "CertificateIssued").map((e) => e.args.id as bigint);
    expect(ids).toHaveLength(3);
    expect(ids[1]).toBe(ids[0]! + 1n);
    expect(events.find((e) => e.name === "IssuanceBatch")?.args._values).toEqual([100n, 200n, 300n]);
    expect(await asIssuer.balanceOf!(stranger.address, ids[1]!)).toBe(200n);
    expect(await asIssuer.balanceOf!(buyer.address, ids[2]!)).toBe(300n);
  });

  it("claims (retires) part of a certificate for a beneficiary: burnt from the owner, counted as claimed", async () => {
    const key = issuanceKeyOf("req-claim");
    const events = await eventsOf(await asIssuer.issue!(buyer.address, 1_000n, key, doc("claim")));
    const id = events.find((e) => e.name === "CertificateIssued")!.args.id as bigint;
    const claimData = toUtf8Bytes(JSON.stringify({ beneficiary: "Acme school", purpose: "2026 scope 2" }));
    const claimEvents = await eventsOf(await asBuyer.claim!(id, 400n, claimData));
    const claim = claimEvents.find((e) => e.name === "ClaimSingle")!;
    expect(claim.args._claimSubject).toBe(buyer.address);
    expect(claim.args._value).toBe(400n);
    expect(await asIssuer.balanceOf!(buyer.address, id)).toBe(600n);
    expect(await asIssuer.claimedBalanceOf!(buyer.address, id)).toBe(400n);
    // More than is held: refused, nothing changes.
    expect(await refusal(asBuyer.claim!(id, 601n, claimData))).toMatchObject({
      name: "ERC1155InsufficientBalance",
    });
    // Someone else may not claim the buyer's certificate …
    expect(await refusal(asStranger.claimFor!(buyer.address, id, 1n, claimData))).toMatchObject({
      name: "NotOwnerNorApproved",
    });
    // … unless the buyer approved it as operator (a custodian claiming on the buyer's behalf).
    await (await asBuyer.setApprovalForAll!(stranger.address, true)).wait();
    await (await asStranger.claimFor!(buyer.address, id, 600n, claimData)).wait();
    expect(await asIssuer.balanceOf!(buyer.address, id)).toBe(0n);
    expect(await asIssuer.claimedBalanceOf!(buyer.address, id)).toBe(1_000n);
  });

  it("logs reservations as events: id, buyer, hash of the device list, period", async () => {
    const devicesHash = doc(JSON.stringify(["dev-1", "dev-2"]));
    const events = await eventsOf(
      await asIssuer.logReservation!("res-42", buyer.address, devicesHash, 1_700_000_000n, 1_700_086_400n, 0),
    );
    const logged = events.find((e) => e.name === "ReservationLogged")!;
    expect(logged.args.reservationKey).toBe(keccak256(toUtf8Bytes("res-42")));
    expect(logged.args.reservationId).toBe("res-42");
    expect(logged.args.buyer).toBe(buyer.address);
    expect(logged.args.devicesHash).toBe(devicesHash);
    expect(logged.args.start).toBe(1_700_000_000n);
    expect(logged.args.end).toBe(1_700_086_400n);
  });

  it("is refused at start when REGISTRY_ADDRESS has no registry or another issuer", async () => {
    const chainId = Number((await provider.getNetwork()).chainId);
    const address = await asIssuer.getAddress();
    await expect(checkRegistry(provider, chainId, address, issuer.address)).resolves.toBeUndefined();
    await expect(checkRegistry(provider, chainId, address, stranger.address)).rejects.toThrow(
      `REGISTRY_ADDRESS ${address}: its issuer is ${issuer.address}, not ISSUER_PRIVATE_KEY's address ${stranger.address}`,
    );
    await expect(checkRegistry(provider, chainId, buyer.address, issuer.address)).rejects.toThrow(
      /REGISTRY_ADDRESS .*: no contract there/,
    );
    // The service's start goes through it: a stranger's key with this registry does not start.
    const config = {
      CHAIN_RPC_URL: anvil.url,
      POLL_INTERVAL_MS: 100,
      ISSUER_PRIVATE_KEY: ANVIL_KEYS[2],
      REGISTRY_ADDRESS: address,
    } as Partial<Config> as Config;
    await expect(connectChain(config, undefined as never)).rejects.toThrow(/its issuer is/);
  });
});
