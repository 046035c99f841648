import { topics } from "@energy/contracts";
import { waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { basic, collectTopics, type Ocpp, PASSWORD, seedCharger, startOcpp } from "./helpers.ts";

// Pings every 1 s, a dead peer after 2 s without a pong: a ping interval and a timeout that differ, so the
// test can tell which one the server honours.
let ocpp: Ocpp;
let events: Awaited<ReturnType<typeof collectTopics>>;

beforeAll(async () => {
  ocpp = await startOcpp({ PING_INTERVAL_SECONDS: "1", DEAD_PEER_TIMEOUT_SECONDS: "2" });
  events = await collectTopics(ocpp.kafka, ocpp.testKafka.topicPrefix, [topics.ocppCharger]);
  await seedCharger(ocpp.db, { chargePointId: "dev-dead-1", owner: "usr-dead-owner" });
  await seedCharger(ocpp.db, { chargePointId: "dev-alive-1" });
  await seedCharger(ocpp.db, { chargePointId: "dev-talking-1" });
});
afterAll(async () => {
  await events?.close();
  await ocpp?.close();
});

/** A real websocket charger; with `autoPong: false` it stops answering pings (as a dead peer does). */
async function open(id: string, answersPings: boolean) {
  const ws = new WebSocket(`${ocpp.endpoint}/${id}`, ["ocpp1.6"], {
    headers: { authorization: basic(id, PASSWORD) },
    autoPong: answersPings,
  });
  const pings: number[] = [];
  let closedAt: number | null = null;
  ws.on("ping", () => pings.push(Date.now()));
  ws.on("close", () => {
    closedAt = Date.now();
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return { ws, pings, closedAt: () => closedAt };
}

describe("dead-peer timeout (PING_INTERVAL_SECONDS, DEAD_PEER_TIMEOUT_SECONDS)", () => {
  it("a charger that stops answering pings is cut off the timeout after the ping, and marked disconnected", async () => {
    const dead = await open("dev-dead-1", false);
    const alive = await open("dev-alive-1", true);
    await waitFor("both sessions recorded", async () => (await ocpp.db.chargerSession.count()) === 2 || null);

    const closedAt = await waitFor("the dead peer cut off", () => dead.closedAt(), { timeoutMs: 10_000 });
    // the server pinged once (1 s after the upgrade), then waited the 2 s timeout, not the 1 s interval
    expect(dead.pings).toHaveLength(1);
    const waited = closedAt - dead.pings[0]!;
    expect(waited).toBeGreaterThanOrEqual(1_900);
    expect(waited).toBeLessThan(3_500);

    const gone = await events.waitFor(
      "disconnected",
      (m) => m.type === "charger.disconnected" && m.key === "dev-dead-1",
    );
    expect(gone[0]!.payload.reason).toBe("dead peer: no answer to a ping within 2 s");
    expect(await ocpp.db.chargerSession.findUnique({ where: { chargePointId: "dev-dead-1" } })).toBeNull();
    const res = await ocpp.app.inject({
      method: "GET",
      url: "/v1/orgs/org-ocpp-test/chargers/dev-dead-1",
      headers: ocpp.auth("usr-dead-owner"),
    });
    expect(res.json()).toMatchObject({ connected: false });

    // the charger that answers stays connected through more pings than the dead one lived
    await waitFor("four pings answered", () => alive.pings.length >= 4 || null, { timeoutMs: 10_000 });
    expect(alive.closedAt()).toBeNull();
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    expect(
      await ocpp.db.chargerSession.findUnique({ where: { chargePointId: "dev-alive-1" } }),
    ).not.toBeNull();
    // pings come at the interval after each answer (about 1 s apart), not faster
    const gaps = alive.pings.slice(1).map((t, i) => t - alive.pings[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(900);
    alive.ws.close();
  });

  it("a charger that keeps sending frames is not pinged: its frames show it is alive", async () => {
    // it would not answer a ping: only its own frames (a call every 400 ms, under the 1 s interval) keep it
    const talking = await open("dev-talking-1", false);
    const answers: unknown[] = [];
    talking.ws.on("message", (data) => answers.push(JSON.parse(data.toString())));
    let n = 0;
    const send = () => talking.ws.send(JSON.stringify([2, `t-${++n}`, "Heartbeat", {}]));
    send();
    const timer = setInterval(send, 400);
    try {
      // four times the dead-peer timeout after the ping it would have had at 1 s
      await new Promise((r) => setTimeout(r, 5_000));
      expect(talking.pings).toEqual([]);
      expect(talking.closedAt()).toBeNull();
      expect(talking.ws.readyState).toBe(WebSocket.OPEN);
      expect(answers.length).toBeGreaterThanOrEqual(10);
    } finally {
      clearInterval(timer);
    }
    // once quiet, it is pinged again, and cut off when it does not answer
    const closedAt = await waitFor("the quiet charger cut off", () => talking.closedAt(), {
      timeoutMs: 10_000,
    });
    expect(talking.pings).toHaveLength(1);
    expect(closedAt - talking.pings[0]!).toBeGreaterThanOrEqual(1_900);
  });
});
