import { topics } from "@energy/contracts";
import { waitFor } from "@energy/testing";
import type { RPCClient } from "ocpp-rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  boot16,
  boot201,
  collectTopics,
  type Ocpp,
  ORG,
  PASSWORD,
  seedCharger,
  startOcpp,
} from "./helpers.ts";

const OWNER = "usr-report-owner";
let ocpp: Ocpp;
let events: Awaited<ReturnType<typeof collectTopics>>;
let cp: RPCClient;

beforeAll(async () => {
  ocpp = await startOcpp();
  events = await collectTopics(ocpp.kafka, ocpp.testKafka.topicPrefix, [topics.ocppCharger]);
  await seedCharger(ocpp.db, { chargePointId: "dev-report-201", owner: OWNER });
  await seedCharger(ocpp.db, { chargePointId: "dev-report-16", owner: OWNER });
  cp = await ocpp.connect("dev-report-201", PASSWORD, "ocpp2.0.1", { strict: true });
  await cp.call("BootNotification", boot201);
});
afterAll(async () => {
  await events?.close();
  await ocpp?.close();
});

const get = async (path: string) => {
  const res = await ocpp.app.inject({
    method: "GET",
    url: `/v1/orgs/${ORG}/chargers/${path}`,
    headers: ocpp.auth(OWNER),
  });
  expect(res.statusCode).toBe(200);
  return res.json();
};

const evsePower = (value: string, maxSet: string) => ({
  component: { name: "EVSE", evse: { id: 1 } },
  variable: { name: "Power" },
  variableAttribute: [
    { type: "Actual", value, mutability: "ReadOnly" },
    { type: "MaxSet", value: maxSet, mutability: "ReadOnly" },
  ],
  variableCharacteristics: { unit: "W", dataType: "decimal", maxLimit: 22000, supportsMonitoring: true },
});

describe("2.0.1 NotifyReport, NotifyEvent and SecurityEventNotification, interpreted", () => {
  it("a report in parts becomes the charger's device model: component, variable, attribute, value", async () => {
    const t0 = new Date(Date.now() - 60_000).toISOString();
    expect(
      await cp.call("NotifyReport", {
        requestId: 7,
        generatedAt: t0,
        seqNo: 0,
        tbc: true,
        reportData: [evsePower("3500", "11000")],
      }),
    ).toEqual({});
    await cp.call("NotifyReport", {
      requestId: 7,
      generatedAt: t0,
      seqNo: 1,
      reportData: [
        {
          component: { name: "OCPPCommCtrlr" },
          variable: { name: "HeartbeatInterval" },
          variableAttribute: [{ value: "60", mutability: "ReadWrite", persistent: true }],
          variableCharacteristics: { unit: "s", dataType: "integer", supportsMonitoring: false },
        },
        {
          component: { name: "Connector", instance: "left", evse: { id: 1, connectorId: 2 } },
          variable: { name: "ConnectorType", instance: "main" },
          variableAttribute: [{ type: "Actual", value: "cType2", mutability: "ReadOnly", constant: true }],
          variableCharacteristics: { dataType: "string", supportsMonitoring: false },
        },
      ],
    });
    const model = await get("dev-report-201/device-model");
    expect(model.variables).toHaveLength(4);
    expect(model.variables).toContainEqual(
      expect.objectContaining({
        component: "EVSE",
        evseId: 1,
        evseConnectorId: null,
        variable: "Power",
        attributeType: "MaxSet",
        value: "11000",
        unit: "W",
        dataType: "decimal",
        maxLimit: 22000,
        supportsMonitoring: true,
        requestId: 7,
        reportedAt: t0,
      }),
    );
    expect(model.variables).toContainEqual(
      expect.objectContaining({
        component: "OCPPCommCtrlr",
        variable: "HeartbeatInterval",
        attributeType: "Actual", // the attribute type defaults to Actual
        value: "60",
        mutability: "ReadWrite",
        persistent: true,
      }),
    );
    expect(model.variables).toContainEqual(
      expect.objectContaining({
        component: "Connector",
        componentInstance: "left",
        evseId: 1,
        evseConnectorId: 2,
        variable: "ConnectorType",
        variableInstance: "main",
        value: "cType2",
        constant: true,
      }),
    );
    const power = await get("dev-report-201/device-model?variable=Power");
    expect(power.variables.map((v: { attributeType: string }) => v.attributeType)).toEqual([
      "Actual",
      "MaxSet",
    ]);

    // a newer report updates the value; an older one (queued, arriving late) does not overwrite it
    const t1 = new Date().toISOString();
    await cp.call("NotifyReport", {
      requestId: 8,
      generatedAt: t1,
      seqNo: 0,
      reportData: [evsePower("7000", "11000")],
    });
    await cp.call("NotifyReport", {
      requestId: 6,
      generatedAt: new Date(Date.now() - 120_000).toISOString(),
      seqNo: 0,
      reportData: [evsePower("1", "1")],
    });
    const after = await get("dev-report-201/device-model?component=EVSE&variable=Power");
    expect(after.variables.map((v: { value: string; requestId: number }) => [v.value, v.requestId])).toEqual([
      ["7000", 8],
      ["11000", 8],
    ]);
  });

  it("get_base_report asks a charger for its device model; the NotifyReport parts it sends fill it (by requestId)", async () => {
    cp.handle("GetBaseReport", async ({ params }) => {
      const { requestId } = params as { requestId: number };
      setImmediate(() => {
        void cp.call("NotifyReport", {
          requestId,
          generatedAt: new Date().toISOString(),
          seqNo: 0,
          reportData: [
            {
              component: { name: "SecurityCtrlr" },
              variable: { name: "SecurityProfile" },
              variableAttribute: [{ value: "2", mutability: "ReadOnly" }],
              variableCharacteristics: { dataType: "integer", supportsMonitoring: false },
            },
          ],
        });
      });
      return { status: "Accepted" };
    });
    const res = await ocpp.app.inject({
      method: "POST",
      url: `/v1/orgs/${ORG}/chargers/dev-report-201/commands`,
      headers: ocpp.auth(OWNER),
      payload: { command: "get_base_report", reportBase: "FullInventory", requestId: 4242 },
    });
    expect(res.json()).toMatchObject({
      status: "completed",
      action: "GetBaseReport",
      response: { status: "Accepted" },
    });
    const reported = await waitFor("the report", async () => {
      const { variables } = await get("dev-report-201/device-model?component=SecurityCtrlr");
      return variables.length > 0 ? variables : null;
    });
    expect(reported).toEqual([
      expect.objectContaining({ variable: "SecurityProfile", value: "2", requestId: 4242 }),
    ]);
    // a 1.6 charger has no device model: the command says so
    const cp16 = await ocpp.connect("dev-report-16", PASSWORD, "ocpp1.6", { strict: true });
    await cp16.call("BootNotification", boot16);
    const v16 = await ocpp.app.inject({
      method: "POST",
      url: `/v1/orgs/${ORG}/chargers/dev-report-16/commands`,
      headers: ocpp.auth(OWNER),
      payload: { command: "get_base_report", reportBase: "FullInventory", requestId: 1 },
    });
    expect(v16.json()).toMatchObject({ status: "failed", errorCode: "InvalidCommand" });
    await cp16.close();
  });

  it("NotifyEvent's events are kept one by one with component, variable and value, newest first", async () => {
    const at = (s: number) => new Date(Date.now() - s * 1000).toISOString();
    await cp.call("NotifyEvent", {
      generatedAt: at(0),
      seqNo: 0,
      eventData: [
        {
          eventId: 41,
          timestamp: at(20),
          trigger: "Alerting",
          actualValue: "true",
          techCode: "E-17",
          techInfo: "ground fault on L1",
          eventNotificationType: "HardWiredNotification",
          component: { name: "Connector", evse: { id: 1, connectorId: 1 } },
          variable: { name: "Problem" },
        },
        {
          eventId: 42,
          timestamp: at(10),
          trigger: "Alerting",
          actualValue: "false",
          cleared: true,
          cause: 41,
          eventNotificationType: "HardWiredNotification",
          component: { name: "Connector", evse: { id: 1, connectorId: 1 } },
          variable: { name: "Problem" },
        },
        {
          eventId: 43,
          timestamp: at(5),
          trigger: "Periodic",
          actualValue: "41.5",
          eventNotificationType: "PreconfiguredMonitor",
          variableMonitoringId: 3,
          component: { name: "EVSE", evse: { id: 1 } },
          variable: { name: "Temperature" },
        },
      ],
    });
    const problems = await get("dev-report-201/events?component=Connector&variable=Problem");
    expect(problems.events).toHaveLength(2);
    expect(problems.events[0]).toMatchObject({
      eventId: 42,
      actualValue: "false",
      cleared: true,
      cause: 41,
      evseId: 1,
      evseConnectorId: 1,
    });
    expect(problems.events[1]).toMatchObject({
      eventId: 41,
      trigger: "Alerting",
      actualValue: "true",
      cleared: false,
      techCode: "E-17",
      techInfo: "ground fault on L1",
      notificationType: "HardWiredNotification",
    });
    const all = await get("dev-report-201/events");
    expect(all.events.map((e: { eventId: number }) => e.eventId)).toEqual([43, 42, 41]);
    expect(all.events[0]).toMatchObject({
      variable: "Temperature",
      variableMonitoringId: 3,
      trigger: "Periodic",
    });
  });

  it("a security event is stored with its type and tech info, and published on Kafka (critical per OCPP's list)", async () => {
    const tamperAt = new Date(Date.now() - 5_000).toISOString();
    await cp.call("SecurityEventNotification", {
      type: "TamperDetectionActivated",
      timestamp: tamperAt,
      techInfo: "enclosure opened",
    });
    await cp.call("SecurityEventNotification", {
      type: "InvalidMessages",
      timestamp: new Date().toISOString(),
    });
    const [tamper] = await events.waitFor(
      "the tamper event",
      (m) => m.type === "security_event.reported" && m.payload.type === "TamperDetectionActivated",
    );
    expect(tamper!.key).toBe("dev-report-201");
    expect(tamper!.payload).toMatchObject({
      chargePointId: "dev-report-201",
      critical: true,
      occurredAt: tamperAt,
      techInfo: "enclosure opened",
    });
    const [invalid] = await events.waitFor(
      "the invalid-messages event",
      (m) => m.type === "security_event.reported" && m.payload.type === "InvalidMessages",
    );
    expect(invalid!.payload).toMatchObject({ critical: false, techInfo: null });

    const critical = await get("dev-report-201/security-events?critical=true");
    expect(critical.securityEvents).toEqual([
      expect.objectContaining({
        type: "TamperDetectionActivated",
        techInfo: "enclosure opened",
        occurredAt: tamperAt,
      }),
    ]);
    expect((await get("dev-report-201/security-events")).securityEvents).toHaveLength(2);
  });

  it("1.6 chargers with the security extension report security events the same way", async () => {
    const cp16 = await ocpp.connect("dev-report-16", PASSWORD, "ocpp1.6", { strict: true });
    await cp16.call("BootNotification", boot16);
    expect(
      await cp16.call("SecurityEventNotification", {
        type: "FirmwareUpdated",
        timestamp: new Date().toISOString(),
        techInfo: "1.2.3",
      }),
    ).toEqual({});
    const [updated] = await events.waitFor(
      "1.6 security event",
      (m) => m.type === "security_event.reported" && m.key === "dev-report-16",
    );
    expect(updated!.payload).toMatchObject({ type: "FirmwareUpdated", critical: true, techInfo: "1.2.3" });
  });
});
