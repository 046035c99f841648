import { describeCrossOrgIsolation } from "@energy/testing/cross-org";
import { seedDevice, startMeterRead } from "./helpers.ts";

/**
 * Every organization-scoped route of meter-read's OpenAPI document (reads, history, delta, aggregate,
 * refused reads), called by the owner of another organization: 404, for the victim organization and for
 * its devices under the caller's own.
 */
describeCrossOrgIsolation("meter-read", async () => {
  const mr = await startMeterRead();
  await seedDevice(mr.db, {
    orgId: "org-victim",
    deviceId: "dev-victim",
    externalId: "VICTIM-1",
    members: { "usr-victim": "owner" },
  });
  await seedDevice(mr.db, {
    orgId: "org-rival",
    deviceId: "dev-rival",
    externalId: "RIVAL-1",
    members: { "usr-rival": "owner" },
  });
  return {
    app: mr.app,
    headers: mr.auth("usr-rival"),
    ownOrgId: "org-rival",
    theirs: { orgId: "org-victim", deviceId: "dev-victim" },
    close: mr.close,
  };
});
