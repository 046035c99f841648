import { describeInputFuzz } from "@energy/testing/fuzz";
import { issuanceRequest, startCertificate } from "./helpers.ts";

/**
 * Malformed input to every route of certificate's OpenAPI document: 4xx, never 5xx (packages/testing
 * README). A confirmed certificate exists, so the routes that name one get past their lookups.
 */
describeInputFuzz("certificate", async () => {
  const h = await startCertificate({ env: { CONFIRMATIONS: "1" } });
  await h.db.membership.create({ data: { orgId: "org-buyer", identityId: "usr-fuzz", role: "admin" } });
  const request = issuanceRequest({ buyerAddress: h.buyer.address });
  await h.publishRequest(request);
  const c = await h.certificateOf(request.requestId, "confirmed");
  return {
    app: h.app,
    headers: h.auth("usr-fuzz"),
    params: { orgId: "org-buyer", certificateId: c.id, tokenId: c.tokenId!, hash: c.documentHash },
    close: h.close,
  };
});
