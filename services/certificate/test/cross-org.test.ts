import { describeCrossOrgIsolation } from "@energy/testing/cross-org";
import { issuanceRequest, startCertificate } from "./helpers.ts";

/**
 * Every organization-scoped route of certificate's OpenAPI document (certificates, bundles, claims), called
 * by a member of another organization: 404, for the buyer organization and for its certificate under the
 * caller's own. (Verification and documents are public on purpose, by token id and hash.)
 */
describeCrossOrgIsolation("certificate", async () => {
  const h = await startCertificate({ env: { CONFIRMATIONS: "1" } });
  await h.db.membership.create({ data: { orgId: "org-buyer", identityId: "usr-victim", role: "admin" } });
  await h.db.membership.create({ data: { orgId: "org-rival", identityId: "usr-rival", role: "admin" } });
  const request = issuanceRequest({ buyerAddress: h.buyer.address });
  await h.publishRequest(request);
  const certificate = await h.certificateOf(request.requestId, "confirmed");
  return {
    app: h.app,
    headers: h.auth("usr-rival"),
    ownOrgId: "org-rival",
    theirs: { orgId: "org-buyer", certificateId: certificate.id },
    bodies: {
      "POST /organizations/{orgId}/certificates/{certificateId}/claims": {
        payload: { amountWh: 1, beneficiary: "Rival school" },
      },
    },
    close: h.close,
  };
});
