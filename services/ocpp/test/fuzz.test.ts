import { describeInputFuzz } from "@energy/testing/fuzz";
import { ORG, seedCharger, startOcpp } from "./helpers.ts";

/** Malformed input to every route of ocpp's OpenAPI document: 4xx, never 5xx (packages/testing README). */
describeInputFuzz("ocpp", async () => {
  // a command to a charger that is not connected is answered at once (NotConnected); the timeout bounds the rest
  const ocpp = await startOcpp({ COMMAND_TIMEOUT_SECONDS: "2" });
  await seedCharger(ocpp.db, { chargePointId: "dev-fuzz-cp", owner: "usr-fuzz" });
  return {
    app: ocpp.app,
    headers: ocpp.auth("usr-fuzz"),
    params: {
      orgId: ORG,
      chargePointId: "dev-fuzz-cp",
      commandId: "00000000-0000-4000-8000-000000000000",
      idTag: "TAG-FUZZ",
    },
    close: ocpp.close,
  };
});
