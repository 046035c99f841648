import { topics } from "@energy/contracts";
import { waitFor } from "@energy/testing";
import type { RPCClient } from "ocpp-rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boot201, collectTopics, type Ocpp, PASSWORD, seedCharger, startOcpp } from "./helpers.ts";

let ocpp: Ocpp;
let events: Awaited<ReturnType<typeof collectTopics>>;

beforeAll(async () => {
  ocpp = await startOcpp();
  events = await collectTopics(ocpp.kafka, ocpp.testKafka.topicPrefix, [
    topics.ocppCharger,
    topics.ocppTransaction,
  ]);
  for (const id of ["dev-21-a", "dev-21-b", "dev-21-c", "dev-21-d"]) {
    await seedCharger(ocpp.db, { chargePointId: id, connectors: 2 });
  }
  await seedCharger(ocpp.db, { chargePointId: "dev-21-v2x", type: "v2x_charger", ratedPowerW: 7_000 });
  await ocpp.db.idTag.create({ data: { orgId: "org-ocpp-test", idTag: "TOKEN-OK", status: "Accepted" } });
});
afterAll(async () => {
  await events?.close();
  await ocpp?.close();
});

const of = (key: string, type: string) => (m: { key: string | null; type: string }) =>
  m.key === key && m.type === type;

async function booted(id: string): Promise<RPCClient> {
  const cp = await ocpp.connect(id, PASSWORD, "ocpp2.0.1");
  expect(await cp.call("BootNotification", boot201)).toMatchObject({ status: "Accepted", interval: 60 });
  return cp;
}

const energy = (wh: number, context = "Sample.Periodic") => ({
  value: wh,
  measurand: "Energy.Active.Import.Register",
  context,
  unitOfMeasure: { unit: "Wh" },
});
const power = (w: number) => ({ value: w, measurand: "Power.Active.Import", unitOfMeasure: { unit: "W" } });

function txEvent(
  eventType: "Started" | "Updated" | "Ended",
  transactionId: string,
  seqNo: number,
  extra: Record<string, unknown> = {},
) {
  return {
    eventType,
    timestamp: new Date().toISOString(),
    triggerReason:
      eventType === "Started"
        ? "Authorized"
        : eventType === "Ended"
          ? "EVCommunicationLost"
          : "MeterValuePeriodic",
    seqNo,
    transactionInfo: { transactionId },
    ...extra,
  };
}

describe("OCPP 2.0.1", () => {
  it("BootNotification, Heartbeat and StatusNotification (the EVSE is the connector)", async () => {
    const cp = await booted("dev-21-a");
    expect(await cp.call("Heartbeat", {})).toHaveProperty("currentTime");
    await cp.call("StatusNotification", {
      timestamp: "2026-12-01T10:00:00+01:00",
      connectorStatus: "Occupied",
      evseId: 2,
      connectorId: 1,
    });
    const connector = await ocpp.db.connector.findUniqueOrThrow({
      where: { chargePointId_connectorId: { chargePointId: "dev-21-a", connectorId: 2 } },
    });
    expect(connector).toMatchObject({ status: "occupied", ocppStatus: "Occupied", evseConnectorId: 1 });
    const point = await ocpp.db.chargePoint.findUniqueOrThrow({ where: { serialNumber: "dev-21-a" } });
    expect(point).toMatchObject({ ocppVersion: "2.0.1", vendor: "TestVendor", bootStatus: "Accepted" });
    const [changed] = await events.waitFor("status", of("dev-21-a", "connector.status_changed"));
    expect(changed!.payload).toMatchObject({
      connectorId: 2,
      connectorStatus: "occupied",
      statusAt: "2026-12-01T09:00:00.000Z",
    });
  });

  it("Authorize answers from the organization's list", async () => {
    const cp = await booted("dev-21-b");
    const status = async (idToken: string) =>
      (
        (await cp.call("Authorize", { idToken: { idToken, type: "ISO14443" } })) as {
          idTokenInfo: { status: string };
        }
      ).idTokenInfo.status;
    expect(await status("TOKEN-OK")).toBe("Accepted");
    expect(await status("TOKEN-NOBODY")).toBe("Invalid");
  });

  it("a transaction: Started, Updated with meter values and charging state, Ended; readings per EVSE", async () => {
    const cp = await booted("dev-21-c");
    const evse = { id: 1, connectorId: 1 };
    const answer = await cp.call(
      "TransactionEvent",
      txEvent("Started", "TX-C-1", 0, {
        evse,
        idToken: { idToken: "TOKEN-OK", type: "ISO14443" },
        transactionInfo: { transactionId: "TX-C-1", chargingState: "EVConnected" },
        meterValue: [
          { timestamp: new Date().toISOString(), sampledValue: [energy(10_000, "Transaction.Begin")] },
        ],
      }),
    );
    expect(answer).toEqual({ idTokenInfo: { status: "Accepted" } });
    await cp.call(
      "TransactionEvent",
      txEvent("Updated", "TX-C-1", 1, {
        transactionInfo: { transactionId: "TX-C-1", chargingState: "Charging" },
        meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [energy(10_500), power(11_000)] }],
      }),
    );
    await cp.call(
      "TransactionEvent",
      txEvent("Ended", "TX-C-1", 2, {
        transactionInfo: { transactionId: "TX-C-1", stoppedReason: "EVDisconnected" },
        meterValue: [
          { timestamp: new Date().toISOString(), sampledValue: [energy(12_000, "Transaction.End")] },
        ],
      }),
    );
    const tx = await ocpp.db.chargingTransaction.findFirstOrThrow({ where: { chargePointId: "dev-21-c" } });
    expect(tx).toMatchObject({
      ocppTransactionId: "TX-C-1",
      connectorId: 1,
      state: "ended",
      meterStartWh: 10_000,
      meterStopWh: 12_000,
      stopReason: "EVDisconnected",
      lastSeqNo: 2,
    });
    const [ended] = await events.waitFor("ended", of("dev-21-c", "transaction.ended"));
    expect(ended!.payload).toMatchObject({
      transactionId: "TX-C-1",
      energyWh: 2000,
      stopReason: "EVDisconnected",
    });
    const [updated] = await events.waitFor("updated", of("dev-21-c", "transaction.updated"));
    expect(updated!.payload).toMatchObject({ meterWh: 10_500, powerW: 11_000, chargingState: "charging" });
    const charging = await waitFor("the charging reading", () =>
      events.messages.find(
        (m) => m.key === "dev-21-c" && m.type === "reading.measured" && m.payload.reading.W === 11_000,
      ),
    );
    expect(charging.payload).toMatchObject({ connectorId: 1, derId: "der-dev-21-c-1" });
    expect(charging.payload.reading).toMatchObject({
      type: "ev_charger_port",
      charging_state: "charging",
      total_charge_Wh: 10_500,
      session_charge_Wh: 500,
      session_id: Number(tx.id),
    });
  });

  it("seqNo gives the order, not arrival: a late Started fills in the start, an old Updated does not win, a late Ended closes", async () => {
    const cp = await booted("dev-21-d");
    const evse = { id: 2, connectorId: 1 };
    // queued while offline, delivered out of order
    await cp.call(
      "TransactionEvent",
      txEvent("Updated", "TX-D-1", 2, {
        offline: true,
        evse,
        transactionInfo: { transactionId: "TX-D-1", chargingState: "SuspendedEV" },
        meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [energy(5_300)] }],
      }),
    );
    await cp.call(
      "TransactionEvent",
      txEvent("Updated", "TX-D-1", 1, {
        offline: true,
        transactionInfo: { transactionId: "TX-D-1", chargingState: "Charging" },
        meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [energy(5_100)] }],
      }),
    );
    let tx = await ocpp.db.chargingTransaction.findFirstOrThrow({ where: { chargePointId: "dev-21-d" } });
    expect(tx).toMatchObject({ orphan: true, lastSeqNo: 2, chargingState: "suspended_ev", connectorId: 2 });
    await cp.call(
      "TransactionEvent",
      txEvent("Started", "TX-D-1", 0, {
        offline: true,
        evse,
        idToken: { idToken: "TOKEN-OK", type: "ISO14443" },
        meterValue: [
          { timestamp: new Date().toISOString(), sampledValue: [energy(5_000, "Transaction.Begin")] },
        ],
      }),
    );
    tx = await ocpp.db.chargingTransaction.findFirstOrThrow({ where: { chargePointId: "dev-21-d" } });
    expect(tx).toMatchObject({ orphan: false, meterStartWh: 5_000, idTag: "TOKEN-OK", state: "active" });
    // the same seqNo again (re-sent under another message id) is applied once
    await cp.call(
      "TransactionEvent",
      txEvent("Updated", "TX-D-1", 2, { transactionInfo: { transactionId: "TX-D-1" } }),
    );
    expect(await ocpp.db.transactionEvent.count({ where: { transactionId: tx.id } })).toBe(3);
    // the Ended arrives late (seqNo 4, after a 3 that never came): it closes the transaction
    await cp.call(
      "TransactionEvent",
      txEvent("Ended", "TX-D-1", 4, { transactionInfo: { transactionId: "TX-D-1", stoppedReason: "Local" } }),
    );
    tx = await ocpp.db.chargingTransaction.findFirstOrThrow({ where: { chargePointId: "dev-21-d" } });
    expect(tx).toMatchObject({ state: "ended", meterStopWh: 5_300, stopReason: "Local" });
    const [ended] = await events.waitFor("ended", of("dev-21-d", "transaction.ended"));
    expect(ended!.payload).toMatchObject({ energyWh: 300, unknownStart: false });
    expect(events.messages.filter(of("dev-21-d", "transaction.started"))).toHaveLength(1);
  });

  it("MeterValues, NotifyEvent, SecurityEventNotification and NotifyReport", async () => {
    const cp = await booted("dev-21-b");
    const now = new Date().toISOString();
    expect(
      await cp.call("MeterValues", {
        evseId: 1,
        meterValue: [{ timestamp: now, sampledValue: [energy(777)] }],
      }),
    ).toEqual({});
    const reading = await waitFor("meter reading", () =>
      events.messages.find(
        (m) =>
          m.key === "dev-21-b" && m.type === "reading.measured" && m.payload.reading.total_charge_Wh === 777,
      ),
    );
    expect(reading.payload.reading).not.toHaveProperty("W"); // no power was measured: none is reported
    expect(
      await cp.call("NotifyEvent", {
        generatedAt: now,
        seqNo: 0,
        eventData: [
          {
            eventId: 1,
            timestamp: now,
            trigger: "Alerting",
            actualValue: "true",
            eventNotificationType: "HardWiredNotification",
            component: { name: "Connector" },
            variable: { name: "Problem" },
          },
        ],
      }),
    ).toEqual({});
    expect(await cp.call("SecurityEventNotification", { type: "FirmwareUpdated", timestamp: now })).toEqual(
      {},
    );
    expect(await cp.call("NotifyReport", { requestId: 1, generatedAt: now, seqNo: 0 })).toEqual({});
    const kinds = await ocpp.db.chargerLog.findMany({
      where: { chargePointId: "dev-21-b" },
      orderBy: { id: "asc" },
    });
    expect(kinds.map((k) => k.kind)).toEqual(["NotifyEvent", "SecurityEventNotification", "NotifyReport"]);
  });

  it("a V2X charger's readings are v2x_charger readings with discharge bands", async () => {
    const cp = await booted("dev-21-v2x");
    await cp.call("StatusNotification", {
      timestamp: new Date().toISOString(),
      connectorStatus: "Available",
      evseId: 1,
      connectorId: 1,
    });
    const reading = await waitFor("v2x reading", () =>
      events.messages.find((m) => m.key === "dev-21-v2x" && m.type === "reading.measured"),
    );
    expect(reading.payload.reading).toMatchObject({
      type: "v2x_charger",
      connector_status: "available",
      upper_limit_W: [-1_380, 0, 7_000],
      lower_limit_W: [-7_000, 0, 1_380],
    });
  });

  it("schema violations get 2.0.1's own codes (FormatViolation) and the socket stays", async () => {
    const cp = await ocpp.connect("dev-21-a", PASSWORD, "ocpp2.0.1");
    await cp.call("BootNotification", boot201);
    await expect(
      cp.call("BootNotification", {
        reason: "PowerUp",
        chargingStation: { vendorName: "V".repeat(60), model: "M" },
      }),
    ).rejects.toMatchObject({ rpcErrorCode: "FormatViolation" });
    await expect(
      cp.call("StatusNotification", { timestamp: new Date().toISOString() }),
    ).rejects.toMatchObject({
      rpcErrorCode: "OccurenceConstraintViolation",
    });
    await expect(cp.call("StartTransaction", {})).rejects.toMatchObject({ rpcErrorCode: "NotImplemented" });
    expect(await cp.call("Heartbeat", {})).toHaveProperty("currentTime");
  });
});
