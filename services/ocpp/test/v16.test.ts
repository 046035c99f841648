import { topics } from "@energy/contracts";
import { waitFor } from "@energy/testing";
import type { RPCClient } from "ocpp-rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { basic, boot16, collectTopics, type Ocpp, PASSWORD, seedCharger, startOcpp } from "./helpers.ts";

let ocpp: Ocpp;
let events: Awaited<ReturnType<typeof collectTopics>>;

beforeAll(async () => {
  ocpp = await startOcpp();
  events = await collectTopics(ocpp.kafka, ocpp.testKafka.topicPrefix, [
    topics.ocppCharger,
    topics.ocppTransaction,
  ]);
  for (const id of ["dev-16-a", "dev-16-b", "dev-16-c", "dev-16-d", "dev-16-e"]) {
    await seedCharger(ocpp.db, { chargePointId: id, connectors: 2 });
  }
  await ocpp.db.idTag.create({ data: { orgId: "org-ocpp-test", idTag: "TAG-OK", status: "Accepted" } });
  await ocpp.db.idTag.create({ data: { orgId: "org-ocpp-test", idTag: "TAG-BLOCKED", status: "Blocked" } });
  await ocpp.db.idTag.create({
    data: {
      orgId: "org-ocpp-test",
      idTag: "TAG-OLD",
      status: "Accepted",
      expiresAt: new Date("2020-01-01Z"),
    },
  });
});
afterAll(async () => {
  await events?.close();
  await ocpp?.close();
});

const of = (key: string, type: string) => (m: { key: string | null; type: string }) =>
  m.key === key && m.type === type;

async function booted(id: string): Promise<RPCClient> {
  const cp = await ocpp.connect(id, PASSWORD, "ocpp1.6");
  const answer = (await cp.call("BootNotification", boot16)) as Record<string, unknown>;
  expect(answer.status).toBe("Accepted");
  return cp;
}

describe("OCPP 1.6J", () => {
  it("BootNotification is Accepted with the heartbeat interval and the time; Heartbeat is kept", async () => {
    const cp = await ocpp.connect("dev-16-a", PASSWORD, "ocpp1.6");
    const answer = (await cp.call("BootNotification", {
      ...boot16,
      chargePointSerialNumber: "SN-1",
      firmwareVersion: "1.2.3",
    })) as Record<string, unknown>;
    expect(answer).toMatchObject({ status: "Accepted", interval: 60 });
    expect(Math.abs(Date.parse(answer.currentTime as string) - Date.now())).toBeLessThan(5_000);
    const beat = (await cp.call("Heartbeat", {})) as { currentTime: string };
    expect(Date.parse(beat.currentTime)).toBeGreaterThan(0);

    const point = await ocpp.db.chargePoint.findUniqueOrThrow({ where: { serialNumber: "dev-16-a" } });
    expect(point).toMatchObject({
      vendor: "TestVendor",
      model: "TestModel",
      firmwareVersion: "1.2.3",
      reportedSerial: "SN-1",
      bootStatus: "Accepted",
      ocppVersion: "1.6",
    });
    expect(point.lastHeartbeat).not.toBeNull();
    const [bootEvent] = await events.waitFor("booted", of("dev-16-a", "charger.booted"));
    expect(bootEvent!.payload).toMatchObject({
      vendor: "TestVendor",
      registrationStatus: "Accepted",
      serialNumber: "SN-1",
    });
  });

  it("StatusNotification: connector 0 is the charge point, error codes are kept, Preparing stays preparing", async () => {
    const cp = await booted("dev-16-b");
    await cp.call("StatusNotification", { connectorId: 0, errorCode: "NoError", status: "Available" });
    await cp.call("StatusNotification", {
      connectorId: 1,
      errorCode: "GroundFailure",
      status: "Faulted",
      vendorErrorCode: "E42",
      timestamp: new Date().toISOString(),
    });
    await cp.call("StatusNotification", { connectorId: 2, errorCode: "NoError", status: "Preparing" });

    const point = await ocpp.db.chargePoint.findUniqueOrThrow({
      where: { serialNumber: "dev-16-b" },
      include: { connectors: { orderBy: { connectorId: "asc" } } },
    });
    expect(point.status).toBe("available");
    expect(point.connectors.map((c) => [c.connectorId, c.status, c.errorCode, c.chargingState])).toEqual([
      [0, "available", null, null],
      [1, "faulted", "GroundFailure", null],
      [2, "preparing", null, "ev_connected"],
    ]);
    const changes = await events.waitFor("3 status changes", of("dev-16-b", "connector.status_changed"), 3);
    expect(changes.find((m) => m.payload.connectorId === 1)!.payload).toMatchObject({
      connectorStatus: "faulted",
      ocppStatus: "Faulted",
      errorCode: "GroundFailure",
    });
    // a status change is also a reading of the connector's DER, with no power allowed while faulted
    const readings = await events.waitFor("status readings", of("dev-16-b", "reading.measured"), 2);
    const faulted = readings.find((m) => m.payload.connectorId === 1)!.payload;
    expect(faulted.derId).toBe("der-dev-16-b-1");
    expect(faulted.reading).toMatchObject({
      type: "ev_charger_port",
      connector_status: "faulted",
      upper_limit_W: [0],
      lower_limit_W: [0],
      session_id: null,
    });
  });

  it("Authorize answers from the organization's list", async () => {
    const cp = await booted("dev-16-c");
    const status = async (idTag: string) =>
      ((await cp.call("Authorize", { idTag })) as { idTagInfo: { status: string } }).idTagInfo.status;
    expect(await status("TAG-OK")).toBe("Accepted");
    expect(await status("TAG-BLOCKED")).toBe("Blocked");
    expect(await status("TAG-OLD")).toBe("Expired");
    expect(await status("TAG-NOBODY")).toBe("Invalid");
  });

  it("a full transaction: a retried start gets the same id, meter values become readings, the stop closes it", async () => {
    const cp = await booted("dev-16-d");
    const start = {
      connectorId: 1,
      idTag: "TAG-OK",
      meterStart: 1_000,
      timestamp: "2026-12-01T10:00:00+01:00",
    };
    const first = (await cp.call("StartTransaction", start)) as {
      transactionId: number;
      idTagInfo: { status: string };
    };
    const retry = (await cp.call("StartTransaction", { ...start, timestamp: "2026-12-01T09:00:00Z" })) as {
      transactionId: number;
    };
    expect(first.idTagInfo.status).toBe("Accepted");
    expect(retry.transactionId).toBe(first.transactionId);
    expect(await ocpp.db.chargingTransaction.count({ where: { chargePointId: "dev-16-d" } })).toBe(1);

    await cp.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Charging" });
    await cp.call("MeterValues", {
      connectorId: 1,
      transactionId: first.transactionId,
      meterValue: [
        {
          timestamp: new Date().toISOString(),
          sampledValue: [
            {
              value: "2.5",
              measurand: "Energy.Active.Import.Register",
              unit: "kWh",
              context: "Sample.Periodic",
            },
            { value: "7.2", measurand: "Power.Active.Import", unit: "kW" },
            { value: "230.1", measurand: "Voltage", phase: "L1-N" },
            { value: "10.4", measurand: "Current.Import", phase: "L1" },
          ],
        },
      ],
    });
    const stopAt = new Date().toISOString();
    expect(
      await cp.call("StopTransaction", {
        transactionId: first.transactionId,
        meterStop: 3_000,
        timestamp: stopAt,
        reason: "EVDisconnected",
        idTag: "TAG-OK",
      }),
    ).toEqual({ idTagInfo: { status: "Accepted" } });

    const tx = await ocpp.db.chargingTransaction.findFirstOrThrow({ where: { chargePointId: "dev-16-d" } });
    expect(tx).toMatchObject({
      state: "ended",
      meterStartWh: 1000,
      meterStopWh: 3000,
      stopReason: "EVDisconnected",
    });
    // the charger's time and the receive time are both kept
    expect(tx.startedAt?.toISOString()).toBe("2026-12-01T09:00:00.000Z");
    expect(tx.startedReceivedAt).not.toBeNull();

    const [started] = await events.waitFor("started", of("dev-16-d", "transaction.started"));
    expect(started!.payload).toMatchObject({
      transactionId: String(first.transactionId),
      meterStartWh: 1000,
    });
    const [updated] = await events.waitFor("updated", of("dev-16-d", "transaction.updated"));
    expect(updated!.payload).toMatchObject({ meterWh: 2500, powerW: 7200 });
    const [ended] = await events.waitFor("ended", of("dev-16-d", "transaction.ended"));
    expect(ended!.payload).toMatchObject({
      meterStopWh: 3000,
      energyWh: 2000,
      stopReason: "EVDisconnected",
      unknownStart: false,
    });
    expect(events.messages.filter(of("dev-16-d", "transaction.started"))).toHaveLength(1);

    const readings = await waitFor("the meter reading", () =>
      events.messages.find(
        (m) => m.key === "dev-16-d" && m.type === "reading.measured" && m.payload.reading.W === 7200,
      ),
    );
    expect(readings.payload.reading).toMatchObject({
      connector_status: "occupied",
      charging_state: "charging",
      W: 7200,
      L1_V: 230.1,
      L1_A: 10.4,
      total_charge_Wh: 2500,
      session_charge_Wh: 1500,
      session_id: first.transactionId,
      upper_limit_W: [0, 11000],
      lower_limit_W: [0, 1380],
    });
  });

  it("a StopTransaction for a transaction never seen is acknowledged and recorded", async () => {
    const cp = await booted("dev-16-e");
    expect(
      await cp.call("StopTransaction", {
        transactionId: 987_654,
        meterStop: 500,
        timestamp: new Date().toISOString(),
      }),
    ).toEqual({});
    const [ended] = await events.waitFor("orphan ended", of("dev-16-e", "transaction.ended"));
    expect(ended!.payload).toMatchObject({
      transactionId: "987654",
      unknownStart: true,
      stopReason: "Local",
    });
    // the same stop again (a charger re-sending its queue) changes nothing
    await cp.call("StopTransaction", {
      transactionId: 987_654,
      meterStop: 500,
      timestamp: new Date().toISOString(),
    });
    expect(await ocpp.db.chargingTransaction.count({ where: { chargePointId: "dev-16-e" } })).toBe(1);
  });

  it("DataTransfer, FirmwareStatusNotification and DiagnosticsStatusNotification are answered", async () => {
    const cp = await booted("dev-16-e");
    expect(await cp.call("DataTransfer", { vendorId: "com.example", data: "x" })).toEqual({
      status: "UnknownVendorId",
    });
    expect(await cp.call("FirmwareStatusNotification", { status: "Installed" })).toEqual({});
    expect(await cp.call("DiagnosticsStatusNotification", { status: "Uploaded" })).toEqual({});
    const point = await ocpp.db.chargePoint.findUniqueOrThrow({ where: { serialNumber: "dev-16-e" } });
    expect(point).toMatchObject({ firmwareStatus: "Installed", diagnosticsStatus: "Uploaded" });
  });

  it("a replayed message (same id, same content) is applied once and answered the same", async () => {
    const ws = await rawSocket("dev-16-c");
    await ws.call("BootNotification", boot16);
    const frame = { connectorId: 2, idTag: "TAG-OK", meterStart: 0, timestamp: "2026-12-01T08:00:00Z" };
    const a = await ws.call("StartTransaction", frame, "same-id-1");
    const b = await ws.call("StartTransaction", frame, "same-id-1");
    expect(b).toEqual(a);
    expect(await ocpp.db.chargingTransaction.count({ where: { chargePointId: "dev-16-c" } })).toBe(1);
    ws.close();
  });

  it("schema violations get the CALLERROR code OCPP 1.6 names (FormationViolation, not FormatViolation) and the socket stays", async () => {
    const ws = await rawSocket("dev-16-a");
    await ws.call("BootNotification", boot16);
    // a value too long for its field (maxLength): ocpp-rpc says FormatViolation, 1.6 says FormationViolation
    const tooLong = await ws.callRaw("Authorize", { idTag: "X".repeat(30) });
    expect(tooLong[0]).toBe(4);
    expect(tooLong[2]).toBe("FormationViolation");
    // a missing required field: 1.6 spells it OccurenceConstraintViolation
    const missing = await ws.callRaw("StatusNotification", { connectorId: 1, status: "Available" });
    expect(missing[2]).toBe("OccurenceConstraintViolation");
    // a wrong type
    expect((await ws.callRaw("Heartbeat", [] as never))[2]).toBe("TypeConstraintViolation");
    // not JSON at all: 1.6 has no RpcFrameworkError
    const garbage = await ws.raw("this is not json");
    expect(garbage[2]).toBe("FormationViolation");
    // an action 1.6 does not have
    expect((await ws.callRaw("TransactionEvent", {}))[2]).toBe("NotImplemented");
    // and the connection is still there
    expect((await ws.callRaw("Heartbeat", {}))[0]).toBe(3);
    ws.close();
  });

  it("a Pending charger may heartbeat but not send status or transactions (BOOT_POLICY=Pending)", async () => {
    const pending = await startOcpp({ BOOT_POLICY: "Pending" });
    try {
      await seedCharger(pending.db, { chargePointId: "dev-16-pending" });
      const cp = await pending.connect("dev-16-pending", PASSWORD, "ocpp1.6");
      expect(await cp.call("BootNotification", boot16)).toMatchObject({ status: "Pending", interval: 60 });
      expect(await cp.call("Heartbeat", {})).toHaveProperty("currentTime");
      // 1.6 §4.2: no requests but the BootNotification unless asked for with a TriggerMessage
      await expect(
        cp.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Available" }),
      ).rejects.toMatchObject({ rpcErrorCode: "SecurityError" });
      await expect(
        cp.call("StartTransaction", {
          connectorId: 1,
          idTag: "T",
          meterStart: 0,
          timestamp: new Date().toISOString(),
        }),
      ).rejects.toMatchObject({ rpcErrorCode: "SecurityError" });
    } finally {
      await pending.close();
    }
  });
});

/** A bare websocket charger, for frames a library would not send. */
async function rawSocket(id: string) {
  const ws = new WebSocket(`${ocpp.endpoint}/${id}`, ["ocpp1.6"], {
    headers: { authorization: basic(id, PASSWORD) },
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const answers: unknown[][] = [];
  ws.on("message", (data) => answers.push(JSON.parse(data.toString())));
  let n = 0;
  const raw = async (frame: string, id?: string): Promise<unknown[]> => {
    const before = answers.length;
    ws.send(frame);
    return waitFor(`answer to ${frame.slice(0, 40)}`, () =>
      answers.slice(before).find((a) => id === undefined || a[1] === id),
    );
  };
  const callRaw = (action: string, params: unknown, id = `m-${++n}`) =>
    raw(JSON.stringify([2, id, action, params]), id);
  return {
    raw,
    callRaw,
    async call(action: string, params: unknown, id?: string) {
      const answer = await callRaw(action, params, id);
      if (answer[0] !== 3) throw new Error(`CALLERROR ${JSON.stringify(answer)}`);
      return answer[2];
    },
    close: () => ws.close(),
  };
}
