import { waitFor } from "@energy/testing";
import type { RPCClient } from "ocpp-rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boot16, type Ocpp, ORG, PASSWORD, seedCharger, startOcpp } from "./helpers.ts";

const OWNER = "usr-limit-owner";
let ocpp: Ocpp;
let cp: RPCClient;
/** what the charger answers SetChargingProfile (Rejected for one test) */
let answer = "Accepted";

beforeAll(async () => {
  ocpp = await startOcpp();
  await seedCharger(ocpp.db, { chargePointId: "dev-limit-16", owner: OWNER, connectors: 2 });
  cp = await ocpp.connect("dev-limit-16", PASSWORD, "ocpp1.6");
  cp.handle("SetChargingProfile", async () => ({ status: answer }));
  cp.handle("ClearChargingProfile", async () => ({ status: "Accepted" }));
  await cp.call("BootNotification", boot16);
  await cp.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Charging" });
});
afterAll(async () => {
  await ocpp?.close();
});

const command = async (body: Record<string, unknown>) => {
  const res = await ocpp.app.inject({
    method: "POST",
    url: `/v1/orgs/${ORG}/chargers/dev-limit-16/commands`,
    headers: ocpp.auth(OWNER),
    payload: body,
  });
  expect(res.json()).toMatchObject({ status: "completed" });
  return res.json() as { commandId: string; response: { status: string } };
};

const limits = async (query = "") => {
  const res = await ocpp.app.inject({
    method: "GET",
    url: `/v1/orgs/${ORG}/chargers/dev-limit-16/charging-limits${query}`,
    headers: ocpp.auth(OWNER),
  });
  expect(res.statusCode).toBe(200);
  return res.json().limits as Array<Record<string, unknown>>;
};

/** Sends a meter value of connector 1 taken at `at` (charger time) and returns the reading it became. */
async function readingAt(at: Date) {
  await cp.call("MeterValues", {
    connectorId: 1,
    meterValue: [
      {
        timestamp: at.toISOString(),
        sampledValue: [{ value: "3000", measurand: "Power.Active.Import", unit: "W" }],
      },
    ],
  });
  return waitFor("the reading", async () => {
    const rows = await ocpp.db.outboxMessage.findMany({
      where: { type: "reading.measured", key: "dev-limit-16" },
    });
    return rows
      .map((r) => (r.payload as { reading: { timestamp: number; upper_limit_W: number[] } }).reading)
      .find((r) => r.timestamp === at.getTime());
  });
}

const tick = () => new Promise((r) => setTimeout(r, 5)); // distinct milliseconds between changes

describe("charging-limit history", () => {
  it("every accepted limit is a row with the time it was in force, and readings take the limit in force at their time", async () => {
    const beforeAny = new Date();
    await tick();
    const first = await command({ command: "set_power_limit", connectorId: 1, limitW: 7_000 });
    await tick();
    const betweenSets = new Date();
    await tick();
    const second = await command({ command: "set_power_limit", connectorId: 1, limitW: 5_000 });
    await tick();
    const whileSecond = new Date();

    const rows = await limits("?connectorId=1");
    expect(rows).toHaveLength(2);
    const [newest, older] = rows;
    expect(newest).toMatchObject({ limitW: 5_000, validTo: null, commandId: second.commandId });
    expect(older).toMatchObject({
      limitW: 7_000,
      commandId: first.commandId,
      endedByCommandId: second.commandId,
      validTo: newest!.validFrom, // the new limit starts where the old one ends
    });

    // a reading now carries the limit in force; readings queued from earlier carry the limit of their time
    expect((await readingAt(whileSecond)).upper_limit_W).toEqual([0, 5_000]);
    expect((await readingAt(betweenSets)).upper_limit_W).toEqual([0, 7_000]);
    expect((await readingAt(beforeAny)).upper_limit_W).toEqual([0, 11_000]);

    // the limits in force at an instant
    expect(await limits(`?at=${betweenSets.toISOString()}`)).toEqual([older]);

    // a clear ends it: from then on the rated power
    const clear = await command({ command: "clear_power_limit", connectorId: 1 });
    await tick();
    const afterClear = new Date();
    expect((await limits("?connectorId=1"))[0]).toMatchObject({
      limitW: 5_000,
      endedByCommandId: clear.commandId,
      validTo: expect.any(String),
    });
    expect((await readingAt(afterClear)).upper_limit_W).toEqual([0, 11_000]);
    // and one taken before the clear (sent after it) still had the limit
    expect((await readingAt(new Date(whileSecond.getTime() + 1))).upper_limit_W).toEqual([0, 5_000]);
  });

  it("a whole-charge-point limit (connector 0) caps every connector; the lower of the two is in force", async () => {
    await command({ command: "set_power_limit", connectorId: 0, limitW: 4_000 });
    await command({ command: "set_power_limit", connectorId: 1, limitW: 6_000 });
    await tick();
    expect((await readingAt(new Date())).upper_limit_W).toEqual([0, 4_000]);
    await command({ command: "clear_power_limit" }); // every limit of the charger
    await tick();
    expect((await readingAt(new Date())).upper_limit_W).toEqual([0, 11_000]);
    expect((await limits()).filter((l) => l.validTo === null)).toEqual([]);
  });

  it("a limit the charger rejected is not in the history", async () => {
    const count = (await limits()).length;
    answer = "Rejected";
    const rejected = await command({ command: "set_power_limit", connectorId: 1, limitW: 2_000 });
    answer = "Accepted";
    expect(rejected.response.status).toBe("Rejected");
    expect(await limits()).toHaveLength(count);
  });
});
