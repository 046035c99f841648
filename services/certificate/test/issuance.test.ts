import { topics } from "@energy/contracts";
import { createEnvelope, envelopeToHeaders } from "@energy/kafka";
import { readTopic } from "@energy/testing";
import { keccak256, toUtf8Bytes, toUtf8String, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registryAbi } from "../src/chain/registry.ts";
import { devicesHashOf } from "../src/consumers/reservations.ts";
import { canonicalJson } from "../src/domain/canonical-json.ts";
import { readsRootHash } from "../src/domain/document.ts";
import { type CertificateHarness, ISSUER_KEY, issuanceRequest, startCertificate } from "./helpers.ts";

// The service end to end on real Kafka, PostgreSQL and anvil: issuance requests in, tokens on chain,
// results on certificate.certificate.v1, queries, verification, documents, bundles and claims.
let h: CertificateHarness;
const buyerMember = "usr-buyer-admin";
type Bundle = {
  deviceId: string;
  energyWh: number;
  productionStart: string;
  productionEnd: string;
  bundleIdRange: { start: number; end: number } | null;
};
const bundlesOf = async (certificateId: string) => {
  const res = await h.app.inject({
    url: `/organizations/org-buyer/certificates/${certificateId}/bundles`,
    headers: h.auth(buyerMember),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().bundles as Bundle[];
};

beforeAll(async () => {
  h = await startCertificate();
  await h.db.membership.create({ data: { orgId: "org-buyer", identityId: buyerMember, role: "admin" } });
});
afterAll(async () => {
  await h?.close();
});

describe("issuing certificates", () => {
  it("mints a certificate for a request: the buyer holds the Wh on chain, the chain holds the document's hash", async () => {
    const request = issuanceRequest({ buyerAddress: h.buyer.address });
    await h.publishRequest(request);
    const issued = await h.certificateOf(request.requestId, "issued");
    expect(issued.tokenId).not.toBeNull();
    const tokenId = BigInt(issued.tokenId!);
    expect(await h.registry.balanceOf!(h.buyer.address, tokenId)).toBe(4_500n);
    const [, , , data] = await h.registry.getCertificate!(tokenId);
    expect(data).toBe(issued.documentHash);
    expect(keccak256(toUtf8Bytes(canonicalJson(issued.document)))).toBe(issued.documentHash);

    // CONFIRMATIONS=2: one full pass of the sender over the mint's block alone leaves it issued …
    await h.sender.stop();
    await h.sender.tick();
    expect((await h.db.certificate.findUniqueOrThrow({ where: { id: issued.id } })).status).toBe("issued");
    // … the block of the mint and one on top confirm it.
    await h.mine(1);
    await h.sender.start();
    const confirmed = await h.certificateOf(request.requestId, "confirmed");
    expect(confirmed.tokenId).toBe(issued.tokenId);

    await h.result("certificate.confirmed", (p) => p.requestId === request.requestId);
    const mine = h.events.filter((r) => r.payload.requestId === request.requestId);
    expect(mine.map((r) => r.type)).toEqual([
      "certificate.requested",
      "certificate.issued",
      "certificate.confirmed",
    ]);
    expect(mine[1]!.payload).toMatchObject({
      tokenId: issued.tokenId,
      energyWh: 4_500,
      txHash: issued.txHash,
    });
  });

  it("takes a request published again (reservation after a crash: a new envelope, the same request id) once", async () => {
    const request = issuanceRequest({ buyerAddress: h.buyer.address });
    const after = issuanceRequest({ buyerAddress: h.buyer.address, reservationId: request.reservationId });
    await h.publishRequest(request);
    const first = await h.certificateOf(request.requestId, "issued");
    await h.publishRequest(request);
    await h.publishRequest(after); // the same key: consumed after the repeat
    await h.certificateOf(after.requestId, "issued");
    const rows = await h.db.certificate.findMany({ where: { requestId: request.requestId } });
    expect(rows.map((r) => [r.id, r.tokenId])).toEqual([[first.id, first.tokenId]]);
    expect(
      await h.db.issuanceLog.count({ where: { requestId: request.requestId, event: "requested" } }),
    ).toBe(1);
    await h.result("certificate.requested", (p) => p.requestId === after.requestId);
    expect(
      h.events.filter((e) => e.type === "certificate.requested" && e.payload.requestId === request.requestId),
    ).toHaveLength(1);
    const minted = await h.registry.queryFilter!(
      h.registry.filters!.CertificateIssued!(null, first.issuanceKey),
    );
    expect(minted).toHaveLength(1);
  });

  it("takes many windows of a reservation in one issuance.windows-requested record: one certificate per window, a redelivery changes nothing", async () => {
    const first = issuanceRequest({ buyerAddress: h.buyer.address });
    const hours = [1, 2, 3].map((k) => ({
      start: new Date(Date.parse("2026-11-01T03:00:00.000Z") + (k - 1) * 3_600_000).toISOString(),
      end: new Date(Date.parse("2026-11-01T03:00:00.000Z") + k * 3_600_000).toISOString(),
    }));
    const requests = [first];
    for (const [k, window] of hours.entries()) {
      const before = requests[requests.length - 1]!;
      requests.push(
        issuanceRequest({
          buyerAddress: h.buyer.address,
          reservationId: first.reservationId,
          idempotencyKey: `${first.reservationId}:${window.start}:v1`,
          window,
          energyPerDeviceWh: [1_000 + k, 2_000],
          reservation: {
            ...before.reservation,
            requestedWh: before.reservation.requestedWh + before.energyWh,
          },
        }),
      );
    }
    await h.publishWindows(requests);
    await h.publishWindows(requests); // the relay after a crash: the same windows again
    for (const request of requests) {
      const issued = await h.certificateOf(request.requestId, "issued");
      expect(Number(issued.energyWh)).toBe(request.energyWh);
      expect(issued.periodStart.toISOString()).toBe(request.window.start);
      expect(await h.registry.balanceOf!(h.buyer.address, BigInt(issued.tokenId!))).toBe(
        BigInt(request.energyWh),
      );
      // the document is the one a request of its own makes (the counters before this window included)
      expect(issued.document).toMatchObject({
        requestId: request.requestId,
        buyerReservationId: first.reservationId,
        deviceGroup: {
          targetVolumeCertificateGenerationRequestedInMegaWattHour:
            request.reservation.requestedWh / 1_000_000,
        },
      });
    }
    const rows = await h.db.certificate.findMany({ where: { reservationId: first.reservationId } });
    expect(rows).toHaveLength(requests.length);
    expect(
      await h.db.issuanceLog.count({
        where: { requestId: { in: requests.map((r) => r.requestId) }, event: "requested" },
      }),
    ).toBe(requests.length);
  });

  it("sends a request with its own gas tier (the service's default is standard)", async () => {
    const request = issuanceRequest({ buyerAddress: h.buyer.address, gasTier: "fast" });
    await h.publishRequest(request);
    const issued = await h.certificateOf(request.requestId, "issued");
    expect(issued.tier).toBe("fast");
    const tx = await h.db.chainTx.findUniqueOrThrow({ where: { id: issued.chainTxId! } });
    expect(tx.tier).toBe("fast");
    expect(tx.maxPriorityFeePerGas).toBeGreaterThanOrEqual(2_000_000_000n); // the fast tier's floor
    expect(await h.result("certificate.requested", (p) => p.requestId === request.requestId)).toMatchObject({
      tier: "fast",
    });
  });

  it("writes the D-REC document with the energy per device and hour", async () => {
    const request = issuanceRequest({ buyerAddress: h.buyer.address, energyPerDeviceWh: [3_001, 1_000] });
    // Counters, devices and dates that differ, so that a field taken from the wrong place shows.
    request.reservation = {
      ...request.reservation,
      requestedWh: 3_000_000,
      succeededWh: 2_000_000,
      failedWh: 500_000,
    };
    request.contributions[1] = {
      ...request.contributions[1]!,
      commissioningDate: "2025-06-15",
      deviceTypeCode: "TC120",
      capacityW: 7_000,
    };
    await h.publishRequest(request);
    const c = await h.certificateOf(request.requestId, "issued");
    // biome-ignore lint/suspicious/noExplicitAny: the document is read field by field
    const doc = c.document as Record<string, any>;
    expect(Object.keys(doc).sort()).toEqual(
      [
        "Version",
        "beneficiary",
        "buyerReservationId",
        "deviceGroup",
        "deviceIds",
        "devices",
        "energy",
        "hourly",
        "isStandardIssuanceRequested",
        "isStandardIssued",
        "readCount",
        "readsRootHash",
        "requestId",
        "transactionCertificateId",
        "type",
      ].sort(),
    );
    expect(doc).toMatchObject({
      Version: "v1.0",
      buyerReservationId: request.reservationId,
      beneficiary: "Acme Buyer",
      isStandardIssuanceRequested: "I-REC",
      isStandardIssued: false,
      type: "REC",
      deviceIds: ["dev-1", "dev-2"],
      transactionCertificateId: c.id,
      requestId: request.requestId,
      readCount: 12,
    });
    // The device group snapshot, exactly (no yieldValue, labels empty, off-takers null as none was given).
    expect(doc.deviceGroup).toEqual({
      name: "Netflix 2026",
      countryCode: "IND",
      fuelCode: "ES100",
      deviceTypeCodes: ["TC110", "TC120"],
      offTakers: null,
      commissioningDateRange: ["2024-03-01", "2025-06-15"],
      gridInterconnection: true,
      aggregatedCapacity: 12_000,
      labels: [],
      buyerId: "org-buyer",
      buyerAddress: h.buyer.address,
      frequency: "hourly",
      targetVolumeInMegaWattHour: 100,
      targetVolumeCertificateGenerationSucceededInMegaWattHour: 2,
      targetVolumeCertificateGenerationRequestedInMegaWattHour: 3,
      targetVolumeCertificateGenerationFailedInMegaWattHour: 0.5,
      authorityToExceed: false,
      reservationStartDate: "2026-10-01T00:00:00.000Z",
      reservationEndDate: "2027-10-01T00:00:00.000Z",
      organization: { name: "Acme Buyer", blockchainAccountAddress: h.buyer.address },
    });
    expect(doc.energy).toEqual({
      amountWh: 4_001,
      start: request.window.start,
      end: request.window.end,
      carriedOverWh: 0,
      late: false,
      capped: false,
    });
    expect(doc.devices[1]).toEqual({
      deviceId: "dev-2",
      name: "Rooftop 2",
      energyWh: 1_000,
      capacityW: 7_000,
      commissioningDate: "2025-06-15",
      technology: "inverter",
      fuelCode: "ES100",
      deviceTypeCode: "TC120",
      location: { countryCode: "IND", address: "Feroke, Kerala", latitude: 11.18, longitude: 75.84 },
    });
    // 3 hours × 2 devices, each entry one whole UTC hour, whole Wh adding up to each device's energy.
    expect(doc.hourly).toHaveLength(6);
    const hourly = doc.hourly as Array<{ deviceId: string; hourStart: string; energyWh: number }>;
    for (const x of hourly) {
      expect(Date.parse(x.hourStart) % 3_600_000).toBe(0);
      expect(Number.isInteger(x.energyWh)).toBe(true);
    }
    const sum = (deviceId: string) =>
      hourly.filter((x) => x.deviceId === deviceId).reduce((a, x) => a + x.energyWh, 0);
    expect(sum("dev-1")).toBe(3_001);
    expect(sum("dev-2")).toBe(1_000);
    expect(doc.readsRootHash).toBe(readsRootHash(request.contributions));
    // The transaction certificate id is the one every issuance log entry names.
    const log = await h.db.issuanceLog.findMany({
      where: { requestId: request.requestId },
      orderBy: { id: "asc" },
    });
    expect(log.map((l) => l.event).slice(0, 3)).toEqual(["requested", "signed", "sent"]);
    for (const l of log) expect(l.certificateId).toBe(doc.transactionCertificateId);
  });

  it("fails a request whose address cannot hold tokens, with the reason, and sends nothing", async () => {
    const bad = `0x${h.buyer.address.slice(2, 41)}${h.buyer.address.at(-1) === "a" ? "A" : "a"}`;
    const lower = h.buyer.address.toLowerCase();
    const mixed = lower.replace(/[a-f]/, (ch) => ch.toUpperCase()); // a mixed-case address with a wrong checksum
    const request = issuanceRequest({ buyerAddress: mixed === h.buyer.address ? bad : mixed });
    await h.publishRequest(request);
    const failed = await h.certificateOf(request.requestId, "failed");
    expect(failed.failureReason).toMatch(/checksum/);
    expect(failed.chainTxId).toBeNull();
    const result = await h.result("certificate.failed", (p) => p.requestId === request.requestId);
    expect(result).toMatchObject({ txHash: null, energyWh: 4_500 });
    expect(result.reason).toMatch(/checksum/);
  });
});

describe("queries, verification, documents, bundles", () => {
  it("answers the buyer's queries by reservation, device, period and status", async () => {
    // One reservation, two windows: the first from dev-1 and dev-2, the next day's from dev-1 alone.
    const reservationId = `res-q-${Date.now()}`;
    const early = issuanceRequest({ buyerAddress: h.buyer.address, reservationId });
    const late = issuanceRequest({
      buyerAddress: h.buyer.address,
      reservationId,
      energyPerDeviceWh: [2_000],
      window: { start: "2026-11-02T00:00:00.000Z", end: "2026-11-02T03:00:00.000Z" },
    });
    await h.publishRequest(early);
    await h.publishRequest(late);
    const a = await h.certificateOf(early.requestId, "issued");
    const b = await h.certificateOf(late.requestId, "issued");
    const ids = async (query: string) => {
      const res = await h.app.inject({
        url: `/organizations/org-buyer/certificates?reservationId=${reservationId}${query}`,
        headers: h.auth(buyerMember),
      });
      expect(res.statusCode, res.body).toBe(200);
      return (res.json().certificates as Array<{ certificateId: string }>).map((x) => x.certificateId);
    };
    expect(await ids("")).toEqual([b.id, a.id]); // newest period first
    expect(await ids("&deviceId=dev-2")).toEqual([a.id]);
    expect(await ids("&deviceId=dev-1")).toEqual([b.id, a.id]);
    expect(await ids("&from=2026-11-01T12:00:00.000Z")).toEqual([b.id]);
    expect(await ids("&to=2026-11-01T12:00:00.000Z")).toEqual([a.id]);
    expect(await ids("&from=2026-11-01T02:00:00.000Z&to=2026-11-02T01:00:00.000Z")).toEqual([b.id, a.id]);
    expect(await ids("&status=failed")).toEqual([]);
    // With their documents when asked: the document whose keccak256 the chain holds.
    const withDocs = await h.app.inject({
      url: `/organizations/org-buyer/certificates?reservationId=${reservationId}&document=true`,
      headers: h.auth(buyerMember),
    });
    const [first] = withDocs.json().certificates;
    expect(keccak256(toUtf8Bytes(canonicalJson(first.document)))).toBe(b.documentHash);
    expect(first).toMatchObject({ tokenId: b.tokenId, txHash: b.txHash });
    expect(first.confirmations).toBeGreaterThanOrEqual(1);
    const withoutDocs = await h.app.inject({
      url: `/organizations/org-buyer/certificates?reservationId=${reservationId}`,
      headers: h.auth(buyerMember),
    });
    expect(withoutDocs.json().certificates[0]).not.toHaveProperty("document");
  });

  it("lists a certificate with its token and transaction, and lets anyone verify it against the chain", async () => {
    const request = issuanceRequest({ buyerAddress: h.buyer.address });
    await h.publishRequest(request);
    const c = await h.certificateOf(request.requestId, "issued");
    const list = await h.app.inject({
      url: `/organizations/org-buyer/certificates?reservationId=${request.reservationId}`,
      headers: h.auth(buyerMember),
    });
    expect(list.statusCode).toBe(200);
    expect(list.json().certificates).toHaveLength(1);
    expect(list.json().certificates[0]).toMatchObject({
      tokenId: c.tokenId,
      txHash: c.txHash,
      energyWh: 4_500,
      confirmations: 1,
    });
    const outsider = await h.app.inject({
      url: "/organizations/org-buyer/certificates",
      headers: h.auth("usr-x"),
    });
    expect(outsider.statusCode).toBe(404);

    const verify = await h.app.inject({ url: `/verify/${c.tokenId}` });
    expect(verify.statusCode).toBe(200);
    expect(verify.json()).toMatchObject({
      verified: true,
      checks: { documentHash: true, owner: true, amount: true, claimed: true },
      chain: { amountWh: "4500", ownerBalanceWh: "4500", claimedWh: "0" },
    });

    const doc = await h.app.inject({ url: `/documents/${c.documentHash}` });
    expect(doc.statusCode).toBe(200);
    expect(keccak256(toUtf8Bytes(doc.body))).toBe(c.documentHash);

    const b = await bundlesOf(c.id);
    expect(b).toHaveLength(6);
    expect(b[0]).toMatchObject({ issuanceId: "dev-1:2026-11-01T00:00:00.000Z", energyWh: 1_000 });
    // Every Wh of the certificate has one id: per device the ranges run on without gap or overlap.
    for (const deviceId of ["dev-1", "dev-2"]) {
      const mine = b.filter((x) => x.deviceId === deviceId);
      mine.forEach((x, i) => {
        expect(x.bundleIdRange!.end - x.bundleIdRange!.start + 1).toBe(x.energyWh);
        if (i > 0) expect(x.bundleIdRange!.start).toBe(mine[i - 1]!.bundleIdRange!.end + 1);
        expect(Date.parse(x.productionEnd) - Date.parse(x.productionStart)).toBe(3_600_000);
      });
    }
    expect(b.reduce((sum, x) => sum + x.energyWh, 0)).toBe(4_500);
    // The devices' next certificate runs on from this one's last ids (EnergyTag: per device, sequential).
    const following = issuanceRequest({
      buyerAddress: h.buyer.address,
      window: { start: "2026-11-03T00:00:00.000Z", end: "2026-11-03T03:00:00.000Z" },
    });
    await h.publishRequest(following);
    const c2 = await h.certificateOf(following.requestId, "issued");
    const b2 = await bundlesOf(c2.id);
    for (const deviceId of ["dev-1", "dev-2"]) {
      const last = b.filter((x) => x.deviceId === deviceId).at(-1)!.bundleIdRange!.end;
      expect(b2.find((x) => x.deviceId === deviceId)!.bundleIdRange!.start).toBe(last + 1);
    }
    expect(b[0]).toMatchObject({
      technology: "inverter",
      capacityW: 5_000,
      commissioningDate: "2024-03-01",
      location: { countryCode: "IND", latitude: 11.18, longitude: 75.84 },
    });
  });

  it("reports a certificate whose stored document or claimed amount no longer matches the chain as not verified", async () => {
    const request = issuanceRequest({ buyerAddress: h.buyer.address });
    await h.publishRequest(request);
    const c = await h.certificateOf(request.requestId, "issued");
    const verify = async () => (await h.app.inject({ url: `/verify/${c.tokenId}` })).json();
    expect((await verify()).verified).toBe(true);
    // The copy in the database altered (1 Wh more): its hash is not the chain's.
    const doc = c.document as { energy: { amountWh: number } };
    await h.db.certificate.update({
      where: { id: c.id },
      data: { document: { ...doc, energy: { ...doc.energy, amountWh: doc.energy.amountWh + 1 } } },
    });
    expect(await verify()).toMatchObject({
      verified: false,
      checks: { documentHash: false, owner: true, amount: true, claimed: true },
    });
    await h.db.certificate.update({ where: { id: c.id }, data: { document: c.document!, claimedWh: 10n } });
    expect(await verify()).toMatchObject({
      verified: false,
      checks: { documentHash: true, owner: true, amount: true, claimed: false },
    });
    await h.db.certificate.update({ where: { id: c.id }, data: { claimedWh: 0n } });
    expect((await verify()).verified).toBe(true);
    expect((await h.app.inject({ url: `/documents/0x${"ab".repeat(32)}` })).statusCode).toBe(404);
    expect((await h.app.inject({ url: "/verify/999999" })).statusCode).toBe(404);
  });
});

describe("claims", () => {
  it("retires part, then all the rest, of a certificate for beneficiaries through the API (custodial buyer)", async () => {
    const request = issuanceRequest({ buyerAddress: h.buyer.address });
    await h.publishRequest(request);
    await h.certificateOf(request.requestId, "issued");
    await h.mine(1);
    const c = await h.certificateOf(request.requestId, "confirmed");
    const url = `/organizations/org-buyer/certificates/${c.id}/claims`;
    const notYet = await h.app.inject({
      method: "POST",
      url,
      headers: h.auth(buyerMember),
      payload: { amountWh: 1_000, beneficiary: "Acme school" },
    });
    expect(notYet.statusCode).toBe(409); // the buyer has not made the service its operator
    // The custodial buyer approves the issuer as operator once.
    const approve = await h.registry.connect(h.buyer).getFunction("setApprovalForAll")(
      h.chain.wallet.address,
      true,
    );
    await approve.wait();

    const tooMuch = await h.app.inject({
      method: "POST",
      url,
      headers: h.auth(buyerMember),
      payload: { amountWh: 5_000, beneficiary: "Acme school" },
    });
    expect(tooMuch.statusCode).toBe(400);
    const claim = await h.app.inject({
      method: "POST",
      url,
      headers: h.auth(buyerMember),
      payload: { amountWh: 1_000, beneficiary: "Acme school", purpose: "scope 2, 2026" },
    });
    expect(claim.statusCode).toBe(202);
    const { claimId } = claim.json();
    await h.waitFor(
      "claim mined",
      async () => (await h.db.claim.findUnique({ where: { id: claimId } }))?.txHash,
    );
    await h.mine(1);
    await h.waitFor(
      "claim confirmed",
      async () => (await h.db.claim.findUnique({ where: { id: claimId } }))?.status === "confirmed",
    );
    const tokenId = BigInt(c.tokenId!);
    expect(await h.registry.claimedBalanceOf!(h.buyer.address, tokenId)).toBe(1_000n);
    expect(await h.registry.balanceOf!(h.buyer.address, tokenId)).toBe(3_500n);
    const verify = await h.app.inject({ url: `/verify/${c.tokenId}` });
    expect(verify.json()).toMatchObject({
      verified: true,
      chain: { claimedWh: "1000", ownerBalanceWh: "3500" },
    });
    expect(await h.result("certificate.claimed", (p) => p.claimId === claimId)).toMatchObject({
      amountWh: 1_000,
      beneficiary: "Acme school",
      source: "api",
    });
    // The claim data on chain names the beneficiary and purpose (ERC-1888's ClaimSingle).
    const mined = await h.db.claim.findUniqueOrThrow({ where: { id: claimId } });
    const receipt = await h.provider.getTransactionReceipt(mined.txHash!);
    const claimEvent = receipt!.logs
      .map((l) => registryAbi.parseLog(l))
      .find((e) => e?.name === "ClaimSingle");
    expect(claimEvent?.args._claimSubject).toBe(h.buyer.address);
    expect(claimEvent?.args._value).toBe(1_000n);
    expect(JSON.parse(toUtf8String(claimEvent?.args._claimData))).toMatchObject({
      beneficiary: "Acme school",
      purpose: "scope 2, 2026",
    });

    // A viewer may read but not claim; the owner's admin then retires all the rest.
    await h.db.membership.create({ data: { orgId: "org-buyer", identityId: "usr-viewer", role: "viewer" } });
    const byViewer = await h.app.inject({
      method: "POST",
      url,
      headers: h.auth("usr-viewer"),
      payload: { amountWh: 1, beneficiary: "Acme school" },
    });
    expect(byViewer.statusCode).toBe(403);
    const rest = await h.app.inject({
      method: "POST",
      url,
      headers: h.auth(buyerMember),
      payload: { amountWh: 3_500, beneficiary: "Acme canteen", gasTier: "fast" },
    });
    expect(rest.statusCode, rest.body).toBe(202);
    const badTier = await h.app.inject({
      method: "POST",
      url,
      headers: h.auth(buyerMember),
      payload: { amountWh: 1, beneficiary: "Acme canteen", gasTier: "ludicrous" },
    });
    expect(badTier.statusCode).toBe(400);
    expect(badTier.body).toContain("gasTier");
    await h.waitFor("the rest claimed", async () => {
      await h.mine(1);
      const row = await h.db.claim.findUnique({ where: { id: rest.json().claimId } });
      return row?.status === "confirmed";
    });
    expect(await h.registry.balanceOf!(h.buyer.address, tokenId)).toBe(0n);
    expect(await h.registry.claimedBalanceOf!(h.buyer.address, tokenId)).toBe(4_500n);
    // Sent at the tier it asked for (the service's default is standard).
    const restRow = await h.db.claim.findUniqueOrThrow({ where: { id: rest.json().claimId } });
    expect((await h.db.chainTx.findUniqueOrThrow({ where: { id: restRow.chainTxId! } })).tier).toBe("fast");
    expect((await h.db.chainTx.findUniqueOrThrow({ where: { id: mined.chainTxId! } })).tier).toBe("standard");
    expect((await h.db.certificate.findUniqueOrThrow({ where: { id: c.id } })).claimedWh).toBe(4_500n);
    const claims = await h.app.inject({ url, headers: h.auth(buyerMember) });
    expect(claims.json().claims.map((x: { amountWh: number }) => x.amountWh)).toEqual([1_000, 3_500]);
    expect((await h.app.inject({ url: `/verify/${c.tokenId}` })).json()).toMatchObject({
      verified: true,
      chain: { claimedWh: "4500", ownerBalanceWh: "0" },
    });
  });
});

describe("batches, the reservation log, poison messages", () => {
  it("mints requests that wait together in one batchIssue transaction", async () => {
    await h.sender.stop();
    const requests = [1, 2, 3, 4, 5].map(() => issuanceRequest({ buyerAddress: h.buyer.address }));
    for (const r of requests) await h.publishRequest(r);
    await h.waitFor(
      "all five stored",
      async () =>
        (await h.db.certificate.count({ where: { requestId: { in: requests.map((r) => r.requestId) } } })) ===
        5,
    );
    // Not minted yet: no ids.
    const queued = await h.db.certificate.findUniqueOrThrow({ where: { requestId: requests[0]!.requestId } });
    expect((await bundlesOf(queued.id)).map((x) => x.bundleIdRange)).toEqual(Array(6).fill(null));
    await h.sender.start();
    const issued = [];
    for (const r of requests) issued.push(await h.certificateOf(r.requestId, "issued"));
    expect(new Set(issued.map((c) => c.txHash)).size).toBe(1);
    // In one batch too, each certificate's ids follow those of the one minted before it, device by device.
    const byToken = [...issued].sort((x, y) => (BigInt(x.tokenId!) < BigInt(y.tokenId!) ? -1 : 1));
    for (let i = 1; i < byToken.length; i++) {
      const [before, after] = [await bundlesOf(byToken[i - 1]!.id), await bundlesOf(byToken[i]!.id)];
      for (const deviceId of ["dev-1", "dev-2"]) {
        const last = before.filter((x) => x.deviceId === deviceId).at(-1)!.bundleIdRange!.end;
        expect(after.find((x) => x.deviceId === deviceId)!.bundleIdRange!.start).toBe(last + 1);
      }
    }
    const tx = await h.db.chainTx.findUniqueOrThrow({ where: { id: issued[0]!.chainTxId! } });
    expect(tx.kind).toBe("batch_issue");
    const ids = issued.map((c) => BigInt(c.tokenId!));
    for (const id of ids) expect(await h.registry.balanceOf!(h.buyer.address, id)).toBe(4_500n);
    expect(new Set(ids).size).toBe(5);
  });

  it("fails the one request of a batch the contract refuses, with the decoded revert, and mints the others", async () => {
    await h.sender.stop();
    // The registry itself cannot receive ERC-1155 tokens (no onERC1155Received): its mint reverts.
    const refused = issuanceRequest({ buyerAddress: h.chain.registryAddress });
    const good = [1, 2].map(() => issuanceRequest({ buyerAddress: h.buyer.address }));
    const all = [good[0]!, refused, good[1]!];
    for (const r of all) await h.publishRequest(r);
    await h.waitFor(
      "all three stored",
      async () =>
        (await h.db.certificate.count({ where: { requestId: { in: all.map((r) => r.requestId) } } })) === 3,
    );
    const signer = h.chain.wallet.address;
    const nonceBefore = (await h.db.signerNonce.findUniqueOrThrow({ where: { signer } })).nextNonce;
    await h.sender.start();
    const failed = await h.certificateOf(refused.requestId, "failed");
    expect(failed.failureReason).toMatch(/^ERC1155InvalidReceiver\(/);
    expect(failed.chainTxId).toBeNull();
    expect(await h.result("certificate.failed", (p) => p.requestId === refused.requestId)).toMatchObject({
      reason: failed.failureReason,
      txHash: null,
    });
    const issued = [];
    for (const r of good) issued.push(await h.certificateOf(r.requestId, "issued"));
    expect(issued[0]!.txHash).toBe(issued[1]!.txHash); // the other two still in one batch
    // One transaction, one nonce: the refused request used none.
    expect((await h.db.signerNonce.findUniqueOrThrow({ where: { signer } })).nextNonce).toBe(nonceBefore + 1);
    expect(await h.db.chainTx.count({ where: { nonce: { gte: nonceBefore } } })).toBe(1);
  });

  it("adopts a certificate the chain already minted (its row lost its mint) and batches the rest: never minted twice", async () => {
    await h.sender.stop();
    const requests = [1, 2, 3].map(() => issuanceRequest({ buyerAddress: h.buyer.address }));
    for (const r of requests) await h.publishRequest(r);
    await h.waitFor(
      "all three stored",
      async () =>
        (await h.db.certificate.count({ where: { requestId: { in: requests.map((r) => r.requestId) } } })) ===
        3,
    );
    // The middle one minted already, with the issuer key, as if the database lost that it had sent it.
    const lost = await h.db.certificate.findUniqueOrThrow({ where: { requestId: requests[1]!.requestId } });
    const issuer = h.registry.connect(new Wallet(ISSUER_KEY, h.provider));
    const mint = await issuer.getFunction("issue")(
      lost.ownerAddress,
      lost.energyWh,
      lost.issuanceKey,
      lost.documentHash,
    );
    await mint.wait();
    const before = (await h.registry.lastTokenId!()) as bigint;
    await h.sender.start(); // nonces reconciled: the chain is ahead by that mint
    const issued = [];
    for (const r of requests) issued.push(await h.certificateOf(r.requestId, "issued"));
    expect(issued[1]).toMatchObject({ tokenId: before.toString(), txHash: mint.hash });
    expect(issued[0]!.txHash).toBe(issued[2]!.txHash); // the other two in one batch
    expect(issued[0]!.txHash).not.toBe(mint.hash);
    expect(await h.registry.lastTokenId!()).toBe(before + 2n);
    expect(await h.result("certificate.issued", (p) => p.requestId === lost.requestId)).toMatchObject({
      tokenId: before.toString(),
      txHash: mint.hash,
    });
  });

  it("writes reservation events to the chain's reservation log", async () => {
    const reservationId = "res-log-1";
    const reservation = {
      reservationId,
      name: "Netflix 2026",
      buyerOrgId: "org-buyer",
      buyerOrganization: {
        orgId: "org-buyer",
        name: "Acme Buyer",
        blockchainAccountAddress: h.buyer.address,
      },
      buyerAddress: h.buyer.address,
      deviceIds: ["dev-1", "dev-2"],
      devices: [],
      deviceOrgIds: ["org-dev"],
      start: "2026-11-01T00:00:00.000Z",
      end: "2026-12-01T00:00:00.000Z",
      frequency: "daily" as const,
      timezone: "UTC",
      targetVolumeWh: null,
      authorityToExceed: false,
      status: "active" as const,
    };
    await h.publishReservation("reservation.created", reservation);
    const logged = await h.waitFor("the log entry mined", async () => {
      const entry = await h.db.reservationLog.findFirst({ where: { reservationId } });
      if (!entry?.chainTxId) return undefined;
      const tx = await h.db.chainTx.findUnique({ where: { id: entry.chainTxId } });
      return tx?.minedHash ? tx : undefined;
    });
    const receipt = await h.provider.getTransactionReceipt(logged.minedHash!);
    const event = receipt!.logs
      .map((l) => registryAbi.parseLog(l))
      .find((e) => e?.name === "ReservationLogged");
    expect(event?.args.reservationId).toBe(reservationId);
    expect(event?.args.buyer).toBe(h.buyer.address);
    expect(event?.args.devicesHash).toBe(devicesHashOf(["dev-2", "dev-1"]));
    expect(event?.args.start).toBe(BigInt(Date.parse(reservation.start) / 1000));
    expect(event?.args.end).toBe(BigInt(Date.parse(reservation.end) / 1000));
    expect(event?.args.status).toBe(0n);

    // A device added, then the reservation cancelled: two more entries, in order.
    await h.publishReservation("reservation.updated", {
      ...reservation,
      deviceIds: ["dev-1", "dev-2", "dev-3"],
    });
    const endedAt = "2026-11-20T12:00:00.000Z";
    await h.publishReservationEnded({
      reservationId,
      buyerOrgId: "org-buyer",
      reason: "cancelled",
      endedAt,
      deviceIds: ["dev-1", "dev-2", "dev-3"],
      availableAgainAt: "2026-11-21T00:00:00.000Z",
    });
    const entries = await h.waitFor("the three entries mined", async () => {
      const rows = await h.db.reservationLog.findMany({ where: { reservationId }, orderBy: { id: "asc" } });
      const txs = await Promise.all(
        rows.map((r) => (r.chainTxId ? h.db.chainTx.findUnique({ where: { id: r.chainTxId } }) : null)),
      );
      return rows.length === 3 && txs.every((t) => t?.minedHash) ? txs.map((t) => t!.minedHash!) : undefined;
    });
    const entriesLogged = [];
    for (const hash of entries) {
      const r = await h.provider.getTransactionReceipt(hash);
      entriesLogged.push(
        r!.logs.map((l) => registryAbi.parseLog(l)).find((e) => e?.name === "ReservationLogged")!.args,
      );
    }
    expect(entriesLogged.map((a) => a.status)).toEqual([0n, 1n, 2n]);
    expect(entriesLogged[1]!.devicesHash).toBe(devicesHashOf(["dev-3", "dev-1", "dev-2"]));
    expect(entriesLogged[2]!.end).toBe(BigInt(Date.parse(endedAt) / 1000));
    expect(entriesLogged[2]!.start).toBe(BigInt(Date.parse(reservation.start) / 1000));
    expect(entriesLogged.every((a) => a.reservationId === reservationId && a.buyer === h.buyer.address)).toBe(
      true,
    );
  });

  it("sends a malformed issuance request to the DLQ with its reason, and goes on", async () => {
    const producer = h.kafka.producer();
    await producer.connect();
    const envelope = createEnvelope({ type: "issuance.requested", source: "reservation" });
    await producer.send({
      topic: `${h.testKafka.topicPrefix}${topics.reservationIssuanceRequest.name}`,
      messages: [
        {
          key: "res-bad",
          value: JSON.stringify({ requestId: "not-a-uuid" }),
          headers: envelopeToHeaders(envelope),
        },
      ],
    });
    await producer.disconnect();
    const [dead] = await readTopic(
      h.kafka,
      `${h.testKafka.topicPrefix}${topics.reservationIssuanceRequest.name}.dlq`,
      {
        count: 1,
      },
    );
    expect(dead?.key).toBe("res-bad");
    // The dead letter names the field and the consumer group that refused it.
    expect(dead?.headers["dlq-error"]).toMatch(/requestId/);
    expect(dead?.headers["dlq-consumer-group"]).toContain("certificate.issuance-requests");
    // The consumer goes on: a good request after it is minted.
    const next = issuanceRequest({ buyerAddress: h.buyer.address });
    await h.publishRequest(next);
    await h.certificateOf(next.requestId, "issued");
  });
});
