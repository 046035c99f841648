import { describeInputFuzz } from "@energy/testing/fuzz";
import { seedDevice, startMeterRead } from "./helpers.ts";

/** Malformed input to every route of meter-read's OpenAPI document: 4xx, never 5xx (packages/testing README). */
describeInputFuzz("meter-read", async () => {
  const mr = await startMeterRead();
  await seedDevice(mr.db, {
    orgId: "org-fuzz",
    deviceId: "dev-fuzz",
    externalId: "FUZZ-1",
    members: { "usr-fuzz": "owner" },
  });
  return {
    app: mr.app,
    headers: mr.auth("usr-fuzz"),
    params: { orgId: "org-fuzz", deviceId: "dev-fuzz" },
    close: mr.close,
  };
});
