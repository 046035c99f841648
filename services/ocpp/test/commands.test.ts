import { randomUUID } from "node:crypto";
import { type OcppCommand, topics } from "@energy/contracts";
import { EventProducer } from "@energy/kafka";
import { waitFor } from "@energy/testing";
import type { RPCClient } from "ocpp-rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boot16, boot201, collectTopics, type Ocpp, PASSWORD, seedCharger, startOcpp } from "./helpers.ts";

const OPERATOR = "usr-operator";
let a: Ocpp;
let b: Ocpp;
let events: Awaited<ReturnType<typeof collectTopics>>;
let external: EventProducer;

beforeAll(async () => {
  a = await startOcpp({ COMMAND_TIMEOUT_SECONDS: "3" }, { commands: true });
  b = await startOcpp({ COMMAND_TIMEOUT_SECONDS: "3" }, { commands: true, shareWith: a });
  events = await collectTopics(a.kafka, a.testKafka.topicPrefix, [topics.ocppCommandResult]);
  for (const id of [
    "dev-cmd-16",
    "dev-cmd-201",
    "dev-cmd-offline",
    "dev-cmd-slow",
    "dev-cmd-remote",
    "dev-cmd-dead",
  ]) {
    await seedCharger(a.db, { chargePointId: id, owner: OPERATOR });
  }
  external = new EventProducer(a.kafka, { source: "reservation", topicPrefix: a.testKafka.topicPrefix });
  await external.connect();
});
afterAll(async () => {
  await external?.disconnect();
  await events?.close();
  await b?.close();
  await a?.close();
});

/** A charge point (ocpp-rpc in strict mode: it refuses any call that breaks its version's schema). */
async function charger(
  on: Ocpp,
  id: string,
  version: "ocpp1.6" | "ocpp2.0.1",
  delayMs = 0,
): Promise<RPCClient & { received: string[] }> {
  const cp = await on.connect(id, PASSWORD, version, { strict: true });
  const received: string[] = [];
  const answers: Record<string, (params: Record<string, unknown>) => unknown> =
    version === "ocpp1.6"
      ? {
          RemoteStartTransaction: () => ({ status: "Accepted" }),
          RemoteStopTransaction: () => ({ status: "Accepted" }),
          Reset: () => ({ status: "Accepted" }),
          ChangeAvailability: () => ({ status: "Accepted" }),
          UnlockConnector: () => ({ status: "Unlocked" }),
          TriggerMessage: () => ({ status: "Accepted" }),
          SetChargingProfile: () => ({ status: "Accepted" }),
          ClearChargingProfile: () => ({ status: "Accepted" }),
          ReserveNow: () => ({ status: "Accepted" }),
          CancelReservation: () => ({ status: "Accepted" }),
          GetConfiguration: () => ({
            configurationKey: [{ key: "HeartbeatInterval", readonly: false, value: "60" }],
          }),
          ChangeConfiguration: () => ({ status: "Accepted" }),
        }
      : {
          RequestStartTransaction: () => ({ status: "Accepted" }),
          RequestStopTransaction: () => ({ status: "Accepted" }),
          Reset: () => ({ status: "Accepted" }),
          ChangeAvailability: () => ({ status: "Accepted" }),
          UnlockConnector: () => ({ status: "Unlocked" }),
          TriggerMessage: () => ({ status: "Accepted" }),
          SetChargingProfile: () => ({ status: "Accepted" }),
          ClearChargingProfile: () => ({ status: "Accepted" }),
          ReserveNow: () => ({ status: "Accepted" }),
          CancelReservation: () => ({ status: "Accepted" }),
          GetVariables: (p) => ({
            getVariableResult: (p.getVariableData as Array<Record<string, unknown>>).map((d) => ({
              attributeStatus: "Accepted",
              attributeValue: "60",
              component: d.component,
              variable: d.variable,
            })),
          }),
          SetVariables: (p) => ({
            setVariableResult: (p.setVariableData as Array<Record<string, unknown>>).map((d) => ({
              attributeStatus: "Accepted",
              component: d.component,
              variable: d.variable,
            })),
          }),
        };
  for (const [action, answer] of Object.entries(answers)) {
    cp.handle(action, async ({ params }) => {
      received.push(action);
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return answer(params as Record<string, unknown>) as Record<string, unknown>;
    });
  }
  await cp.call("BootNotification", version === "ocpp1.6" ? boot16 : boot201);
  return Object.assign(cp, { received });
}

async function command(on: Ocpp, chargePointId: string, body: OcppCommand, orgId = "org-ocpp-test") {
  const res = await on.app.inject({
    method: "POST",
    url: `/v1/orgs/${orgId}/chargers/${chargePointId}/commands`,
    headers: on.auth(OPERATOR),
    payload: body,
  });
  return { status: res.statusCode, body: res.json(), requestId: res.headers["x-request-id"] as string };
}

const vocabulary: OcppCommand[] = [
  { command: "remote_start", idTag: "TAG-1", connectorId: 1 },
  { command: "remote_stop", transactionId: "42" },
  { command: "reset", type: "soft" },
  { command: "change_availability", connectorId: 1, available: false },
  { command: "unlock_connector", connectorId: 1 },
  { command: "trigger_message", message: "StatusNotification", connectorId: 1 },
  { command: "set_power_limit", connectorId: 1, limitW: 7_400 },
  { command: "clear_power_limit", connectorId: 1 },
  {
    command: "reserve_now",
    reservationId: 5,
    connectorId: 1,
    idTag: "TAG-1",
    expiresAt: "2030-01-01T00:00:00Z",
  },
  { command: "cancel_reservation", reservationId: 5 },
  { command: "get_configuration", keys: ["OCPPCommCtrlr.HeartbeatInterval"] },
  { command: "set_configuration", key: "OCPPCommCtrlr.HeartbeatInterval", value: "30" },
];

describe("commands", () => {
  it.each([
    ["ocpp1.6", "dev-cmd-16"],
    ["ocpp2.0.1", "dev-cmd-201"],
  ] as const)(
    "every command of the vocabulary reaches a %s charger and its answer comes back",
    async (version, id) => {
      const cp = await charger(a, id, version);
      for (const body of vocabulary) {
        const res = await command(a, id, body);
        expect({
          command: body.command,
          status: res.status,
          result: res.body.status,
          error: res.body.errorMessage,
        }).toEqual({
          command: body.command,
          status: 200,
          result: "completed",
          error: null,
        });
      }
      // what the charger accepted is in force here: the power limit set, then cleared; the reservation cancelled
      const log = await a.db.commandLog.findMany({
        where: { chargePointId: id },
        orderBy: { createdAt: "asc" },
      });
      expect(log.map((c) => c.action)).toEqual(
        version === "ocpp1.6"
          ? [
              "RemoteStartTransaction",
              "RemoteStopTransaction",
              "Reset",
              "ChangeAvailability",
              "UnlockConnector",
              "TriggerMessage",
              "SetChargingProfile",
              "ClearChargingProfile",
              "ReserveNow",
              "CancelReservation",
              "GetConfiguration",
              "ChangeConfiguration",
            ]
          : [
              "RequestStartTransaction",
              "RequestStopTransaction",
              "Reset",
              "ChangeAvailability",
              "UnlockConnector",
              "TriggerMessage",
              "SetChargingProfile",
              "ClearChargingProfile",
              "ReserveNow",
              "CancelReservation",
              "GetVariables",
              "SetVariables",
            ],
      );
      // each command reached the charger once (it came to the instance over HTTP and again from Kafka)
      await new Promise((r) => setTimeout(r, 300));
      expect(cp.received).toEqual(log.map((c) => c.action));
      const reservation = await a.db.reservation.findUniqueOrThrow({
        where: { chargePointId_id: { chargePointId: id, id: 5 } },
      });
      expect(reservation.state).toBe("cancelled");
      const results = await events.waitFor(
        "12 results",
        (m) => m.key === id && m.type === "command.completed",
        vocabulary.length,
      );
      expect(results[0]!.payload).toMatchObject({ command: "remote_start", status: "Accepted" });
    },
  );

  it("a power limit the charger accepted narrows the power band of the next reading", async () => {
    const cp = await charger(a, "dev-cmd-16", "ocpp1.6");
    expect(
      (await command(a, "dev-cmd-16", { command: "set_power_limit", connectorId: 1, limitW: 4_000 })).body
        .status,
    ).toBe("completed");
    await cp.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Available" });
    const reading = await waitFor("the reading", async () => {
      const rows = await a.db.outboxMessage.findMany({
        where: { type: "reading.measured", key: "dev-cmd-16" },
      });
      return rows
        .map((r) => r.payload as { reading: { upper_limit_W: number[] } })
        .find((p) => p.reading.upper_limit_W[1] === 4_000);
    });
    expect(reading.reading).toMatchObject({ upper_limit_W: [0, 4_000], lower_limit_W: [0, 1_380] });
  });

  it("an offline charger gets a clear NotConnected result, on HTTP and on the result topic", async () => {
    const res = await command(a, "dev-cmd-offline", { command: "reset", type: "hard" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "failed", errorCode: "NotConnected" });
    const [result] = await events.waitFor(
      "failed",
      (m) => m.key === "dev-cmd-offline" && m.type === "command.failed",
    );
    expect(result!.payload).toMatchObject({ commandId: res.body.commandId, errorCode: "NotConnected" });
    expect(result!.correlationId).toBe(res.requestId);
  });

  it("a charger that does not answer in time gets a Timeout result", async () => {
    await charger(a, "dev-cmd-slow", "ocpp1.6", 10_000);
    const res = await command(a, "dev-cmd-slow", { command: "unlock_connector", connectorId: 1 });
    expect(res.body).toMatchObject({ status: "failed", errorCode: "Timeout", action: "UnlockConnector" });
  });

  it("from ocpp.command.v1: the result is matched by correlation id; an unknown charger is answered too", async () => {
    await charger(b, "dev-cmd-remote", "ocpp2.0.1");
    const ask = async (chargePointId: string, request: OcppCommand) => {
      const commandId = randomUUID();
      const correlationId = randomUUID();
      await external.publish(
        topics.ocppCommand,
        "command.requested",
        { commandId, chargePointId, request, requestedBy: "int-planner" },
        { correlationId },
      );
      const [result] = await events.waitFor(
        `result of ${commandId}`,
        (m) => m.payload.commandId === commandId,
      );
      return { result: result!, correlationId };
    };
    const done = await ask("dev-cmd-remote", { command: "set_power_limit", connectorId: 0, limitW: 11_000 });
    expect(done.result).toMatchObject({ type: "command.completed", correlationId: done.correlationId });
    expect(done.result.payload).toMatchObject({ action: "SetChargingProfile", status: "Accepted" });
    const unknown = await ask("dev-nobody", { command: "reset", type: "soft" });
    expect(unknown.result).toMatchObject({ type: "command.failed", correlationId: unknown.correlationId });
    expect(unknown.result.payload.errorCode).toBe("UnknownChargePoint");
    // answered once, though both instances saw it
    await new Promise((r) => setTimeout(r, 500));
    expect(
      events.messages.filter((m) => m.payload.commandId === unknown.result.payload.commandId),
    ).toHaveLength(1);
  });

  it("several instances: a registration decided on one instance reaches the charger held by the other (its TriggerMessage)", async () => {
    await seedCharger(a.db, { chargePointId: "dev-cmd-reg", owner: OPERATOR });
    const cp = await b.connect("dev-cmd-reg", PASSWORD, "ocpp1.6", { strict: true });
    const boots: string[] = [];
    const boot = async () =>
      boots.push(((await cp.call("BootNotification", boot16)) as { status: string }).status);
    cp.handle("TriggerMessage", async ({ params }) => {
      if ((params as { requestedMessage: string }).requestedMessage === "BootNotification")
        setImmediate(() => void boot());
      return { status: "Accepted" };
    });
    await boot();
    const res = await a.app.inject({
      method: "PUT",
      url: "/v1/orgs/org-ocpp-test/chargers/dev-cmd-reg/registration",
      headers: a.auth(OPERATOR), // the charger's owner
      payload: { status: "Rejected" },
    });
    expect(res.json()).toMatchObject({ status: "Rejected", bootStatus: "Accepted" });
    await waitFor("rebooted on b, Rejected", () => (boots.at(-1) === "Rejected" ? true : null));
    expect(boots).toEqual(["Accepted", "Rejected"]);
    const trigger = await a.db.commandLog.findUniqueOrThrow({ where: { id: res.json().triggerCommandId } });
    expect(trigger).toMatchObject({ status: "completed", instanceId: b.instanceId });
  });

  it("several instances: a command sent to one reaches the instance holding the socket; a dead holder means NotConnected", async () => {
    await charger(b, "dev-cmd-dead", "ocpp1.6");
    // over HTTP to instance a, while the socket is on b
    const res = await command(a, "dev-cmd-dead", { command: "trigger_message", message: "Heartbeat" });
    expect(res.body).toMatchObject({ status: "completed", action: "TriggerMessage" });
    expect((await a.db.commandLog.findUniqueOrThrow({ where: { id: res.body.commandId } })).instanceId).toBe(
      b.instanceId,
    );

    // b stops refreshing its row (as a killed process would): its chargers count as offline for a
    await b.loop!.stop();
    await a.db.serviceInstance.updateMany({ where: { id: b.instanceId }, data: { lastSeenAt: new Date(0) } });
    b.central.holds = () => false; // and b no longer acts on commands (it is "dead")
    const late = await command(a, "dev-cmd-dead", { command: "trigger_message", message: "Heartbeat" });
    expect(late.body).toMatchObject({ status: "failed", errorCode: "NotConnected" });
  });
});
