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

// BOOT_POLICY=Pending: every charger waits for an owner or admin to accept it.
const OWNER = "usr-reg-owner";
let ocpp: Ocpp;
let events: Awaited<ReturnType<typeof collectTopics>>;

beforeAll(async () => {
  ocpp = await startOcpp({ BOOT_POLICY: "Pending" });
  events = await collectTopics(ocpp.kafka, ocpp.testKafka.topicPrefix, [topics.ocppCharger]);
  for (const id of ["dev-reg-16", "dev-reg-trig", "dev-reg-201", "dev-reg-rej"]) {
    await seedCharger(ocpp.db, { chargePointId: id, owner: OWNER });
  }
  await ocpp.db.membership.create({ data: { orgId: ORG, identityId: "usr-reg-operator", role: "operator" } });
  await seedCharger(ocpp.db, {
    chargePointId: "dev-reg-other",
    orgId: "org-reg-other",
    owner: "usr-reg-rival",
  });
});
afterAll(async () => {
  await events?.close();
  await ocpp?.close();
});

const decide = (chargePointId: string, status: string, who = OWNER, orgId = ORG) =>
  ocpp.app.inject({
    method: "PUT",
    url: `/v1/orgs/${orgId}/chargers/${chargePointId}/registration`,
    headers: ocpp.auth(who),
    payload: { status },
  });

const bootStatus = async (id: string) =>
  (await ocpp.db.chargePoint.findUnique({ where: { serialNumber: id } }))?.bootStatus ?? null;

/** A charger that obeys TriggerMessage: it answers Accepted, then sends the message asked for. */
async function obedient(id: string, version: "ocpp1.6" | "ocpp2.0.1") {
  const cp = await ocpp.connect(id, PASSWORD, version);
  const boots: string[] = [];
  const bootParams = version === "ocpp1.6" ? boot16 : boot201;
  const boot = async () => {
    const answer = (await cp.call("BootNotification", bootParams)) as { status: string };
    boots.push(answer.status);
    return answer;
  };
  const sent: Array<Promise<unknown>> = [];
  cp.handle("TriggerMessage", async ({ params }) => {
    const requested = (params as { requestedMessage: string }).requestedMessage;
    setImmediate(() => {
      const done =
        requested === "BootNotification"
          ? boot()
          : cp.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Available" });
      sent.push(done.catch((err: unknown) => err));
    });
    return { status: "Accepted" };
  });
  return { cp: cp as RPCClient, boot, boots, sent };
}

describe("Pending registrations and the accept API", () => {
  it("a Pending charger may boot and heartbeat but sends no status or transactions until it is accepted; accepting it makes it boot again, Accepted", async () => {
    const { cp, boot, boots } = await obedient("dev-reg-16", "ocpp1.6");
    expect(await boot()).toMatchObject({ status: "Pending", interval: 60 });
    expect(await cp.call("Heartbeat", {})).toHaveProperty("currentTime");
    await expect(
      cp.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Available" }),
    ).rejects.toMatchObject({ rpcErrorCode: "SecurityError" });
    const start = { connectorId: 1, idTag: "T", meterStart: 0, timestamp: new Date().toISOString() };
    await expect(cp.call("StartTransaction", start)).rejects.toMatchObject({ rpcErrorCode: "SecurityError" });

    // only owners and admins of its organization decide
    expect((await decide("dev-reg-16", "Accepted", "usr-reg-operator")).statusCode).toBe(403);
    expect((await decide("dev-reg-16", "Accepted", "usr-reg-rival", "org-reg-other")).statusCode).toBe(404);
    expect((await decide("dev-reg-16", "Maybe")).statusCode).toBe(400);

    const res = await decide("dev-reg-16", "Accepted");
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ chargePointId: "dev-reg-16", status: "Accepted", decidedBy: OWNER });
    expect(body.bootStatus).toBe("Pending");
    expect(body.triggerCommandId).toEqual(expect.any(String));
    // the TriggerMessage made it boot again, and this boot was Accepted
    await waitFor("booted again, Accepted", () => (boots.at(-1) === "Accepted" ? true : null));
    expect(boots).toEqual(["Pending", "Accepted"]);
    expect(await bootStatus("dev-reg-16")).toBe("Accepted");
    const trigger = await waitFor("the trigger completed", () =>
      ocpp.db.commandLog.findFirst({ where: { id: body.triggerCommandId, status: "completed" } }),
    );
    expect(trigger.action).toBe("TriggerMessage");
    // and now it may start a transaction
    expect(await cp.call("StartTransaction", start)).toMatchObject({ idTagInfo: expect.any(Object) });

    const [changed] = await events.waitFor(
      "registration changed",
      (m) => m.type === "charger.registration_changed" && m.key === "dev-reg-16",
    );
    expect(changed!.payload).toEqual({
      chargePointId: "dev-reg-16",
      status: "Accepted",
      decidedBy: OWNER,
      triggerCommandId: body.triggerCommandId,
    });
    await events.waitFor(
      "booted Accepted",
      (m) =>
        m.type === "charger.booted" && m.key === "dev-reg-16" && m.payload.registrationStatus === "Accepted",
    );
    const view = await ocpp.app.inject({
      method: "GET",
      url: `/v1/orgs/${ORG}/chargers/dev-reg-16`,
      headers: ocpp.auth(OWNER),
    });
    expect(view.json()).toMatchObject({
      bootStatus: "Accepted",
      registration: { status: "Accepted", decidedBy: OWNER },
    });
  });

  it("a Pending charger may send a message asked for with a TriggerMessage, once", async () => {
    const { cp, boot, sent } = await obedient("dev-reg-trig", "ocpp1.6");
    expect(await boot()).toMatchObject({ status: "Pending" });
    const res = await ocpp.app.inject({
      method: "POST",
      url: `/v1/orgs/${ORG}/chargers/dev-reg-trig/commands`,
      headers: ocpp.auth(OWNER),
      payload: { command: "trigger_message", message: "StatusNotification", connectorId: 1 },
    });
    expect(res.json()).toMatchObject({ status: "completed", response: { status: "Accepted" } });
    await waitFor("the triggered status sent", () => (sent.length === 1 ? true : null));
    expect(await sent[0]).toEqual({});
    const connector = await ocpp.db.connector.findUnique({
      where: { chargePointId_connectorId: { chargePointId: "dev-reg-trig", connectorId: 1 } },
    });
    expect(connector?.status).toBe("available");
    // the trigger was used up: the next one it was not asked for is refused
    await expect(
      cp.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Available" }),
    ).rejects.toMatchObject({ rpcErrorCode: "SecurityError" });
  });

  it("a charger accepted before it ever connected boots Accepted (2.0.1), with no trigger", async () => {
    const res = await decide("dev-reg-201", "Accepted");
    expect(res.json()).toMatchObject({ status: "Accepted", bootStatus: null, triggerCommandId: null });
    const { boot } = await obedient("dev-reg-201", "ocpp2.0.1");
    expect(await boot()).toMatchObject({ status: "Accepted" });
  });

  it("a rejected charger is answered Rejected and may then send nothing but BootNotification", async () => {
    const { cp, boot, boots } = await obedient("dev-reg-rej", "ocpp1.6");
    await decide("dev-reg-rej", "Accepted");
    expect(await boot()).toMatchObject({ status: "Accepted" });
    const res = await decide("dev-reg-rej", "Rejected");
    expect(res.json()).toMatchObject({ status: "Rejected", bootStatus: "Accepted" });
    expect(res.json().triggerCommandId).toEqual(expect.any(String));
    await waitFor("booted again, Rejected", () => (boots.at(-1) === "Rejected" ? true : null));
    await expect(cp.call("Heartbeat", {})).rejects.toMatchObject({ rpcErrorCode: "SecurityError" });
    await expect(
      cp.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Available" }),
    ).rejects.toMatchObject({ rpcErrorCode: "SecurityError" });
    expect(await boot()).toMatchObject({ status: "Rejected" });
    // nothing is sent to it: a command fails at once, with a code that says why
    const sent = await ocpp.app.inject({
      method: "POST",
      url: `/v1/orgs/${ORG}/chargers/dev-reg-rej/commands`,
      headers: ocpp.auth(OWNER),
      payload: { command: "reset", type: "soft" },
    });
    expect(sent.json()).toMatchObject({ status: "failed", errorCode: "ChargerRejected", action: null });
    // accepting it again sends it nothing (a Rejected charger is not sent messages): its next boot gets it
    const again = await decide("dev-reg-rej", "Accepted");
    expect(again.json()).toMatchObject({ bootStatus: "Rejected", triggerCommandId: null });
    expect(await boot()).toMatchObject({ status: "Accepted" });
    expect(await cp.call("Heartbeat", {})).toHaveProperty("currentTime");
  });
});
