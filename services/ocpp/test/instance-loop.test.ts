import { waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { basic, boot16, type Ocpp, PASSWORD, seedCharger, startOcpp } from "./helpers.ts";

/**
 * Two instances on one database: a charger whose new connection reached the other instance while its old
 * socket still looked open here is let go by this instance's loop (it must not act twice); the chargers
 * this instance still holds are left alone.
 */
let a: Ocpp;
let b: Ocpp;

beforeAll(async () => {
  a = await startOcpp({}, { commands: true });
  b = await startOcpp({}, { commands: true, shareWith: a });
  for (const id of ["dev-loop-moved", "dev-loop-stays"]) await seedCharger(a.db, { chargePointId: id });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

async function open(endpoint: string, id: string) {
  const ws = new WebSocket(`${endpoint}/${id}`, ["ocpp1.6"], {
    headers: { authorization: basic(id, PASSWORD) },
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const answers: unknown[][] = [];
  ws.on("message", (data) => answers.push(JSON.parse(data.toString())));
  ws.send(JSON.stringify([2, "boot-1", "BootNotification", boot16]));
  await waitFor(`${id} booted`, () => answers.find((m) => m[1] === "boot-1"));
  return { ws, closed };
}

describe("the instance loop", () => {
  it("closes a socket whose charger connected to another instance, and keeps the others", async () => {
    const moved = await open(a.endpoint, "dev-loop-moved");
    const stays = await open(a.endpoint, "dev-loop-stays");
    await waitFor("both recorded on a", () => a.central.heldIds().length === 2);
    // the charger comes back through b while its socket on a still looks open
    const again = await open(b.endpoint, "dev-loop-moved");
    const session = await a.db.chargerSession.findUniqueOrThrow({
      where: { chargePointId: "dev-loop-moved" },
    });
    expect(session.instanceId).toBe(b.instanceId);
    // closed by a (cut off: it must not act twice, whatever it still sends)
    await moved.closed;
    expect(a.central.holds("dev-loop-moved")).toBe(false);
    expect(b.central.holds("dev-loop-moved")).toBe(true);
    // a's close changed nothing: the charger is still recorded as connected, on b
    expect(
      await a.db.chargerSession.findUniqueOrThrow({ where: { chargePointId: "dev-loop-moved" } }),
    ).toMatchObject({ instanceId: b.instanceId, sessionId: session.sessionId });
    // a's other charger is left alone through more rounds of the loop
    await new Promise((r) => setTimeout(r, 1_200));
    expect(stays.ws.readyState).toBe(WebSocket.OPEN);
    expect(a.central.holds("dev-loop-stays")).toBe(true);
    again.ws.close();
    stays.ws.close();
  });
});
