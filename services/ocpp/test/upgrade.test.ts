import { topics } from "@energy/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  basic,
  boot16,
  collectTopics,
  type Ocpp,
  PASSWORD,
  seedCharger,
  startOcpp,
  upgradeStatus,
} from "./helpers.ts";

let ocpp: Ocpp;
let events: Awaited<ReturnType<typeof collectTopics>>;

beforeAll(async () => {
  ocpp = await startOcpp();
  events = await collectTopics(ocpp.kafka, ocpp.testKafka.topicPrefix, [topics.ocppCharger]);
  await seedCharger(ocpp.db, { chargePointId: "dev-cp-up-1" });
  await seedCharger(ocpp.db, { chargePointId: "dev-cp-nopass", password: null });
  await seedCharger(ocpp.db, { chargePointId: "dev-cp-again" });
});
afterAll(async () => {
  await events?.close();
  await ocpp?.close();
});

describe("the websocket upgrade", () => {
  it("is refused with the HTTP status that says why, before any OCPP handler runs", async () => {
    const url = (id: string) => `${ocpp.endpoint}/${id}`;
    const cases: Array<[string, string, Record<string, string>, string, number]> = [
      [
        "unknown charger",
        url("dev-nobody"),
        { authorization: basic("dev-nobody", PASSWORD) },
        "ocpp1.6",
        404,
      ],
      ["no password sent", url("dev-cp-up-1"), {}, "ocpp1.6", 401],
      [
        "wrong password",
        url("dev-cp-up-1"),
        { authorization: basic("dev-cp-up-1", "not-the-password!!") },
        "ocpp1.6",
        401,
      ],
      [
        "user name is another identity",
        url("dev-cp-up-1"),
        { authorization: basic("dev-cp-again", PASSWORD) },
        "ocpp1.6",
        401,
      ],
      [
        "no password set for it",
        url("dev-cp-nopass"),
        { authorization: basic("dev-cp-nopass", PASSWORD) },
        "ocpp1.6",
        401,
      ],
      [
        "no OCPP subprotocol",
        url("dev-cp-up-1"),
        { authorization: basic("dev-cp-up-1", PASSWORD) },
        "ocpp1.5",
        400,
      ],
      [
        "not the OCPP path",
        `ws://127.0.0.1:${ocpp.port}/other/dev-cp-up-1`,
        { authorization: basic("dev-cp-up-1", PASSWORD) },
        "ocpp1.6",
        404,
      ],
      [
        "right password, 1.6",
        url("dev-cp-up-1"),
        { authorization: basic("dev-cp-up-1", PASSWORD) },
        "ocpp1.6",
        101,
      ],
      [
        "right password, 2.0.1",
        url("dev-cp-up-1"),
        { authorization: basic("dev-cp-up-1", PASSWORD) },
        "ocpp2.0.1",
        101,
      ],
    ];
    for (const [what, target, headers, protocol, status] of cases) {
      expect({ what, status: await upgradeStatus(target, headers, protocol) }).toEqual({ what, status });
    }
    // refused upgrades never became sessions: nothing but the accepted ones reached the database
    await events.waitFor("two connections", (m) => m.type === "charger.connected", 2);
    expect(events.messages.filter((m) => m.type === "charger.connected").map((m) => m.key)).toEqual([
      "dev-cp-up-1",
      "dev-cp-up-1",
    ]);
  });

  it("a reconnect while the old socket looks open: the new connection wins, the old one is closed quietly", async () => {
    const first = await ocpp.connect("dev-cp-again", PASSWORD, "ocpp1.6");
    await first.call("BootNotification", boot16);
    const closed = new Promise((resolve) => first.once("close", resolve));
    const second = await ocpp.connect("dev-cp-again", PASSWORD, "ocpp1.6");
    await closed;
    // the new session answers, and the charger is still connected (the old close did not mark it gone)
    expect(await second.call("Heartbeat", {})).toHaveProperty("currentTime");
    const session = await ocpp.db.chargerSession.findUnique({ where: { chargePointId: "dev-cp-again" } });
    expect(session?.instanceId).toBe(ocpp.instanceId);
    await events.waitFor(
      "two connected events",
      (m) => m.type === "charger.connected" && m.key === "dev-cp-again",
      2,
    );
    expect(
      events.messages.filter((m) => m.type === "charger.disconnected" && m.key === "dev-cp-again"),
    ).toEqual([]);

    await second.close();
    const gone = await events.waitFor(
      "disconnected",
      (m) => m.type === "charger.disconnected" && m.key === "dev-cp-again",
    );
    expect(gone).toHaveLength(1);
    expect(await ocpp.db.chargerSession.findUnique({ where: { chargePointId: "dev-cp-again" } })).toBeNull();
  });
});
