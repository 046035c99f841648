import { topics } from "@energy/contracts";
import { EventProducer } from "@energy/kafka";
import { readTopic, waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ingestion, seedSite, startIngestion } from "./helpers.ts";

// The ocpp service publishes each connector's readings as reading.measured on ocpp.charger.v1, addressed to
// the connector's ev_charger_port DER; ingestion takes them like a gateway's, with no gateway.

let ing: Ingestion;
let ocpp: EventProducer;

beforeAll(async () => {
  ing = await startIngestion({}, { consumers: true }); // the ocpp-readings consumer among them
  await seedSite(ing.db, {
    orgId: "org-o",
    siteId: "site-o",
    deviceId: "dev-charger-1",
    gatewayId: null,
    deviceType: "ev_charger",
    ders: { "der-port-1": "ev_charger_port" },
  });
  ocpp = new EventProducer(ing.kafka, { source: "ocpp", topicPrefix: ing.testKafka.topicPrefix });
  await ocpp.connect();
});
afterAll(async () => {
  await ocpp?.disconnect();
  await ing?.close();
});

const measured = (derId: string, timestamp: number, W: number) =>
  ocpp.publish(
    topics.ocppCharger,
    "reading.measured",
    {
      chargePointId: "dev-charger-1",
      connectorId: 1,
      derId,
      reading: {
        type: "ev_charger_port",
        timestamp,
        connector_status: "occupied",
        charging_state: "charging",
        W,
        total_charge_Wh: 12_000,
        session_id: 7,
        upper_limit_W: [0, 11_000],
        lower_limit_W: [0, 1_380],
      },
    },
    { key: "dev-charger-1" },
  );

describe("charger readings from ocpp.charger.v1", () => {
  it("are validated and published like any DER's, with no gateway; other charger events are ignored", async () => {
    const at = Date.now() - 60_000;
    await ocpp.publish(
      topics.ocppCharger,
      "charger.connected",
      { chargePointId: "dev-charger-1", ocppVersion: "1.6", instanceId: "i-1" },
      { key: "dev-charger-1" },
    );
    await measured("der-port-1", at, 7_200);
    await measured("der-not-registered", at, 7_200);
    const accepted = await waitFor(
      "the reading on ingestion.telemetry.v1",
      async () => {
        const all = await readTopic(
          ing.testKafka.kafka,
          `${ing.testKafka.topicPrefix}ingestion.telemetry.v1`,
          {
            count: 1,
            timeoutMs: 6_000,
          },
        );
        return all.map((m) => JSON.parse(m.value!)).find((p) => p.derId === "der-port-1");
      },
      { timeoutMs: 45_000 },
    );
    expect(accepted).toMatchObject({ deviceId: "dev-charger-1", gatewayId: null, orgId: "org-o" });
    expect(accepted.readings[0]).toMatchObject({
      type: "ev_charger_port",
      W: 7_200,
      timestamp: at,
      session_id: 7,
    });
    // a reading for a DER ingestion does not know is refused and kept, never dropped
    const refused = await waitFor("the refusal", () =>
      ing.db.rejectedReading.findFirst({ where: { derId: "der-not-registered" } }),
    );
    expect(refused).toMatchObject({ gatewayId: null, channel: "kafka" });
  });
});
