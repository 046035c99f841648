import { describeCrossOrgIsolation } from "@energy/testing/cross-org";
import { seedSite, startIngestion } from "./helpers.ts";

/**
 * Every organization-scoped route of ingestion's OpenAPI document (twins, intervals, readings, liveness,
 * refusals), called by a member of another organization: 404, for the victim organization in the path and
 * for its sites, devices and DERs under the caller's own.
 */
describeCrossOrgIsolation("ingestion", async () => {
  const ing = await startIngestion();
  await seedSite(ing.db, {
    orgId: "org-victim",
    siteId: "sit-victim",
    deviceId: "dev-victim",
    gatewayId: "zap-victim",
    ders: { "der-victim": "solar" },
    members: ["usr-victim"],
  });
  await seedSite(ing.db, {
    orgId: "org-rival",
    siteId: "sit-rival",
    deviceId: "dev-rival",
    gatewayId: "zap-rival",
    ders: { "der-rival": "solar" },
    members: ["usr-rival"],
  });
  return {
    app: ing.app,
    headers: ing.auth("usr-rival", "user"),
    ownOrgId: "org-rival",
    theirs: { orgId: "org-victim", siteId: "sit-victim", deviceId: "dev-victim", derId: "der-victim" },
    close: ing.close,
  };
});
