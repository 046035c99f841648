import { topics } from "@energy/contracts";
import { waitFor } from "@energy/testing";
import { OCPPClient, SecurityProfile } from "ocpp-ws-io";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectTopics, type Ocpp, PASSWORD, seedCharger, startOcpp } from "./helpers.ts";

// A charge point implementation not written here (ocpp-ws-io, strict schema validation both ways) runs a
// whole session against the central system: boot, status, authorize, a transaction with meter values, and
// a remote stop sent by the central system, for OCPP 1.6J and 2.0.1.

const OPERATOR = "usr-interop";
let ocpp: Ocpp;
let events: Awaited<ReturnType<typeof collectTopics>>;
const clients: OCPPClient[] = [];

beforeAll(async () => {
  ocpp = await startOcpp({}, { commands: true });
  events = await collectTopics(ocpp.kafka, ocpp.testKafka.topicPrefix, [
    topics.ocppTransaction,
    topics.ocppCommandResult,
  ]);
  await seedCharger(ocpp.db, { chargePointId: "dev-interop-16", owner: OPERATOR });
  await seedCharger(ocpp.db, { chargePointId: "dev-interop-201", owner: OPERATOR });
  await ocpp.db.idTag.create({ data: { orgId: "org-ocpp-test", idTag: "RFID-1", status: "Accepted" } });
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close({ force: true } as never)));
  await events?.close();
  await ocpp?.close();
});

function client(identity: string, protocol: "ocpp1.6" | "ocpp2.0.1") {
  const c = new OCPPClient({
    endpoint: ocpp.endpoint,
    identity,
    protocols: [protocol],
    securityProfile: SecurityProfile.BASIC_AUTH,
    password: PASSWORD,
    reconnect: false,
    strictMode: true,
  });
  clients.push(c);
  return c;
}

const remoteStop = async (chargePointId: string, transactionId: string) => {
  const res = await ocpp.app.inject({
    method: "POST",
    url: `/v1/orgs/org-ocpp-test/chargers/${chargePointId}/commands`,
    headers: ocpp.auth(OPERATOR),
    payload: { command: "remote_stop", transactionId },
  });
  return res.json();
};

describe("interop with ocpp-ws-io", () => {
  it("OCPP 1.6J: boot, status, authorize, start, meter values, remote stop, stop", async () => {
    const cp = client("dev-interop-16", "ocpp1.6");
    let stopRequested: number | null = null;
    cp.handle("ocpp1.6", "RemoteStopTransaction", async ({ params }) => {
      stopRequested = params.transactionId;
      return { status: "Accepted" };
    });
    await cp.connect();
    const boot = await cp.call("ocpp1.6", "BootNotification", {
      chargePointVendor: "Interop",
      chargePointModel: "WS-IO",
    });
    expect(boot.status).toBe("Accepted");
    await cp.call("ocpp1.6", "StatusNotification", {
      connectorId: 1,
      errorCode: "NoError",
      status: "Preparing",
    });
    const auth = await cp.call("ocpp1.6", "Authorize", { idTag: "RFID-1" });
    expect(auth.idTagInfo.status).toBe("Accepted");
    const start = await cp.call("ocpp1.6", "StartTransaction", {
      connectorId: 1,
      idTag: "RFID-1",
      meterStart: 100,
      timestamp: new Date().toISOString(),
    });
    expect(start.idTagInfo.status).toBe("Accepted");
    await cp.call("ocpp1.6", "MeterValues", {
      connectorId: 1,
      transactionId: start.transactionId,
      meterValue: [
        {
          timestamp: new Date().toISOString(),
          sampledValue: [
            { value: "1.1", measurand: "Energy.Active.Import.Register", unit: "kWh" },
            { value: "3700", measurand: "Power.Active.Import", unit: "W" },
          ],
        },
      ],
    });
    const stop = await remoteStop("dev-interop-16", String(start.transactionId));
    expect(stop).toMatchObject({ status: "completed", response: { status: "Accepted" } });
    expect(stopRequested).toBe(start.transactionId);
    await cp.call("ocpp1.6", "StopTransaction", {
      transactionId: start.transactionId,
      meterStop: 1_500,
      timestamp: new Date().toISOString(),
      reason: "Remote",
    });
    const [ended] = await events.waitFor(
      "ended",
      (m) => m.key === "dev-interop-16" && m.type === "transaction.ended",
    );
    expect(ended!.payload).toMatchObject({ energyWh: 1_400, stopReason: "Remote" });
    await waitFor("the meter value", () =>
      events.messages.find(
        (m) => m.key === "dev-interop-16" && m.type === "transaction.updated" && m.payload.meterWh === 1100,
      ),
    );
  });

  it("OCPP 2.0.1: boot, status, authorize, TransactionEvent Started/Updated, RequestStop, Ended", async () => {
    const cp = client("dev-interop-201", "ocpp2.0.1");
    let stopRequested: string | null = null;
    cp.handle("ocpp2.0.1", "RequestStopTransaction", async ({ params }) => {
      stopRequested = params.transactionId;
      return { status: "Accepted" };
    });
    await cp.connect();
    const boot = await cp.call("ocpp2.0.1", "BootNotification", {
      reason: "PowerUp",
      chargingStation: { vendorName: "Interop", model: "WS-IO" },
    });
    expect(boot.status).toBe("Accepted");
    const now = () => new Date().toISOString();
    await cp.call("ocpp2.0.1", "StatusNotification", {
      timestamp: now(),
      connectorStatus: "Occupied",
      evseId: 1,
      connectorId: 1,
    });
    const auth = await cp.call("ocpp2.0.1", "Authorize", {
      idToken: { idToken: "RFID-1", type: "ISO14443" },
    });
    expect(auth.idTokenInfo.status).toBe("Accepted");
    const register = (wh: number, context: "Transaction.Begin" | "Sample.Periodic" | "Transaction.End") => ({
      timestamp: now(),
      sampledValue: [
        {
          value: wh,
          measurand: "Energy.Active.Import.Register" as const,
          context,
          unitOfMeasure: { unit: "Wh" },
        },
      ],
    });
    await cp.call("ocpp2.0.1", "TransactionEvent", {
      eventType: "Started",
      timestamp: now(),
      triggerReason: "Authorized",
      seqNo: 0,
      transactionInfo: { transactionId: "IO-TX-1", chargingState: "EVConnected" },
      idToken: { idToken: "RFID-1", type: "ISO14443" },
      evse: { id: 1, connectorId: 1 },
      meterValue: [register(2_000, "Transaction.Begin")],
    });
    await cp.call("ocpp2.0.1", "TransactionEvent", {
      eventType: "Updated",
      timestamp: now(),
      triggerReason: "MeterValuePeriodic",
      seqNo: 1,
      transactionInfo: { transactionId: "IO-TX-1", chargingState: "Charging" },
      meterValue: [register(2_600, "Sample.Periodic")],
    });
    const stop = await remoteStop("dev-interop-201", "IO-TX-1");
    expect(stop).toMatchObject({ status: "completed", action: "RequestStopTransaction" });
    expect(stopRequested).toBe("IO-TX-1");
    await cp.call("ocpp2.0.1", "TransactionEvent", {
      eventType: "Ended",
      timestamp: now(),
      triggerReason: "RemoteStop",
      seqNo: 2,
      transactionInfo: { transactionId: "IO-TX-1", stoppedReason: "Remote" },
      meterValue: [register(3_000, "Transaction.End")],
    });
    const [ended] = await events.waitFor(
      "ended",
      (m) => m.key === "dev-interop-201" && m.type === "transaction.ended",
    );
    expect(ended!.payload).toMatchObject({ transactionId: "IO-TX-1", energyWh: 1_000, stopReason: "Remote" });
  });
});
