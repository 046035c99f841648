import { describeInputFuzz } from "@energy/testing/fuzz";
import { seedSite, startIngestion } from "./helpers.ts";

/** Malformed input to every route of ingestion's OpenAPI document: 4xx, never 5xx (packages/testing README). */
describeInputFuzz("ingestion", async () => {
  const ing = await startIngestion();
  await seedSite(ing.db, {
    orgId: "org-fuzz",
    siteId: "sit-fuzz",
    deviceId: "dev-fuzz",
    gatewayId: "zap-fuzz",
    ders: { "der-fuzz": "solar" },
    members: ["usr-fuzz"],
  });
  const user = ing.auth("usr-fuzz", "user");
  const gateway = ing.auth("zap-fuzz");
  return {
    app: ing.app,
    headers: user,
    headersFor: (route) => (route.path.startsWith("/v1/telemetry") ? gateway : user),
    params: { orgId: "org-fuzz", siteId: "sit-fuzz", deviceId: "dev-fuzz", derId: "der-fuzz" },
    close: ing.close,
  };
});
