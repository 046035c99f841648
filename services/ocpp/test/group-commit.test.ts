import { topics } from "@energy/contracts";
import { waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  basic,
  boot16,
  boot201,
  collectTopics,
  type Ocpp,
  PASSWORD,
  seedCharger,
  startOcpp,
} from "./helpers.ts";

/**
 * Chargers sending at the same moment: their boots, heartbeats and meter values are written together
 * (src/central/group-commit.ts, batched-calls.ts), and each must still be answered, stored and published
 * as its own; a replay in a burst is applied once; one bad value in a burst fails only its own call.
 */
let ocpp: Ocpp;
let events: Awaited<ReturnType<typeof collectTopics>>;
const V16 = Array.from({ length: 12 }, (_, i) => `dev-gc-16-${i}`);
const V201 = Array.from({ length: 4 }, (_, i) => `dev-gc-201-${i}`);
const CTX = "dev-gc-ctx";

beforeAll(async () => {
  ocpp = await startOcpp();
  events = await collectTopics(ocpp.kafka, ocpp.testKafka.topicPrefix, [topics.ocppCharger]);
  for (const id of [...V16, ...V201, CTX]) await seedCharger(ocpp.db, { chargePointId: id, connectors: 2 });
  await ocpp.db.idTag.create({ data: { orgId: "org-ocpp-test", idTag: "TAG-GC", status: "Accepted" } });
});
afterAll(async () => {
  await events?.close();
  await ocpp?.close();
});

/** A charger on a bare websocket: frames with the message ids the test chooses. */
async function charger(id: string, protocol: "ocpp1.6" | "ocpp2.0.1") {
  const ws = new WebSocket(`${ocpp.endpoint}/${id}`, [protocol], {
    headers: { authorization: basic(id, PASSWORD) },
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const answers: unknown[][] = [];
  ws.on("message", (data) => answers.push(JSON.parse(data.toString())));
  let n = 0;
  return {
    ws,
    call(action: string, params: unknown, messageId = `${id}-${++n}`): Promise<unknown[]> {
      ws.send(JSON.stringify([2, messageId, action, params]));
      return waitFor(`the answer to ${messageId}`, () => answers.find((a) => a[1] === messageId));
    },
  };
}

const meterValue16 = (wh: number, w: number) => ({
  connectorId: 1,
  meterValue: [
    {
      timestamp: new Date().toISOString(),
      sampledValue: [
        { value: String(wh), measurand: "Energy.Active.Import.Register", unit: "Wh" },
        { value: String(w), measurand: "Power.Active.Import", unit: "W" },
      ],
    },
  ],
});
const meterValue201 = (wh: number, w: number) => ({
  evseId: 2,
  meterValue: [
    {
      timestamp: new Date().toISOString(),
      sampledValue: [
        { value: wh, measurand: "Energy.Active.Import.Register", unitOfMeasure: { unit: "Wh" } },
        { value: w, measurand: "Power.Active.Import", unitOfMeasure: { unit: "W" } },
      ],
    },
  ],
});

describe("calls from many chargers at the same moment", () => {
  it("each boot, heartbeat and meter value is answered, stored and published as its own", async () => {
    const cps = await Promise.all([
      ...V16.map((id) => charger(id, "ocpp1.6")),
      ...V201.map((id) => charger(id, "ocpp2.0.1")),
    ]);
    const ids = [...V16, ...V201];
    const before = ocpp.central.groupCommits().calls;
    const boots = await Promise.all(
      cps.map((cp, i) => cp.call("BootNotification", i < V16.length ? boot16 : boot201)),
    );
    for (const answer of boots) expect(answer[2]).toMatchObject({ status: "Accepted", interval: 60 });

    const [beats, meters] = await Promise.all([
      Promise.all(cps.map((cp) => cp.call("Heartbeat", {}))),
      Promise.all(
        cps.map((cp, i) =>
          cp.call(
            "MeterValues",
            i < V16.length ? meterValue16(5_000 + i, 100 * i) : meterValue201(5_000 + i, 100 * i),
          ),
        ),
      ),
    ]);
    for (const answer of beats)
      expect(Date.parse((answer[2] as { currentTime: string }).currentTime)).toBeGreaterThan(0);
    for (const answer of meters) expect(answer).toEqual([3, answer[1], {}]);

    // stored per charger
    const points = await ocpp.db.chargePoint.findMany({ where: { serialNumber: { in: ids } } });
    expect(points).toHaveLength(ids.length);
    for (const p of points) {
      expect(p).toMatchObject({ bootStatus: "Accepted", vendor: "TestVendor" });
      expect(p.lastHeartbeat).not.toBeNull();
    }
    for (const [i, id] of ids.entries()) {
      const connectorId = i < V16.length ? 1 : 2;
      const connector = await ocpp.db.connector.findUniqueOrThrow({
        where: { chargePointId_connectorId: { chargePointId: id, connectorId } },
      });
      expect(connector.energyRegisterWh).toBe(5_000 + i);
    }
    // published per charger: booted, and a reading on the connector's own DER with its own values
    for (const [i, id] of ids.entries()) {
      await events.waitFor(`${id} booted`, (m) => m.key === id && m.type === "charger.booted");
      const connectorId = i < V16.length ? 1 : 2;
      const [reading] = await events.waitFor(
        `${id}'s reading`,
        (m) =>
          m.key === id && m.type === "reading.measured" && m.payload.reading.total_charge_Wh === 5_000 + i,
      );
      expect(reading!.payload).toMatchObject({
        chargePointId: id,
        connectorId,
        derId: `der-${id}-${connectorId}`,
        reading: { W: 100 * i, connector_status: "unknown", session_id: null },
      });
    }
    // written together, not call by call, and no batch had to be split up
    const after = ocpp.central.groupCommits().calls;
    const calls = after.items - before.items;
    expect(calls).toBe(ids.length * 3);
    expect(after.batches - before.batches).toBeLessThan(calls);
    expect(after.failed).toBe(before.failed);
    for (const cp of cps) cp.ws.close();
  });

  it("a replay in a burst is applied once and answered the same; a bad value fails only its own call", async () => {
    const cps = await Promise.all(V16.slice(0, 6).map((id) => charger(id, "ocpp1.6")));
    await Promise.all(cps.map((cp) => cp.call("BootNotification", boot16)));
    const replayed = meterValue16(9_100, 1_000);
    const bad = {
      connectorId: 1,
      meterValue: [
        {
          timestamp: new Date().toISOString(),
          sampledValue: [{ value: "1e308", measurand: "Power.Active.Import", unit: "W" }],
        },
      ],
    };
    const answers = await Promise.all([
      cps[0]!.call("MeterValues", replayed, "replayed-1"),
      cps[1]!.call("MeterValues", bad, "bad-1"),
      ...cps.slice(2).map((cp, k) => cp.call("MeterValues", meterValue16(9_200 + k, 2_000 + k))),
    ]);
    const again = await cps[0]!.call("MeterValues", replayed, "replayed-1");
    expect(again[2]).toEqual(answers[0]![2]);
    expect(answers[0]).toEqual([3, "replayed-1", {}]);
    expect(answers[1]!.slice(0, 3)).toEqual([4, "bad-1", "PropertyConstraintViolation"]);
    for (const answer of answers.slice(2)) expect(answer[0]).toBe(3);

    // the replay gave one reading, the bad value none, the others theirs
    for (const [k, cp] of cps.slice(2).entries()) {
      const id = V16[k + 2]!;
      await events.waitFor(
        `${id}'s reading`,
        (m) => m.key === id && m.payload.reading?.total_charge_Wh === 9_200 + k,
      );
      cp.ws.close();
    }
    await events.waitFor(
      "the replayed reading",
      (m) => m.key === V16[0] && m.payload.reading?.total_charge_Wh === 9_100,
    );
    const replayedReadings = () =>
      events.messages.filter((m) => m.key === V16[0] && m.payload.reading?.total_charge_Wh === 9_100);
    // the relay has published everything stored before the last reading: a second one would be there too
    await waitFor("the outbox to be published", async () => {
      const [{ pending }] = await ocpp.db.$queryRawUnsafe<[{ pending: bigint }]>(
        "SELECT count(*) AS pending FROM outbox WHERE sent_at IS NULL",
      );
      return pending === 0n;
    });
    expect(replayedReadings()).toHaveLength(1);
    expect(
      events.messages.filter(
        (m) => m.key === V16[1] && m.type === "reading.measured" && m.payload.reading.W > 1e300,
      ),
    ).toEqual([]);
    cps[0]!.ws.close();
    cps[1]!.ws.close();
  });

  it("a batch that remembers a connector's state still gives each reading the state stored at its write", async () => {
    // A batched MeterValues builds its readings from what its connector's last batch read (its DERs,
    // status, open transaction, limits) and writes in one statement that first checks it is still so; a
    // status, a transaction or a DER changed in between makes that batch read again.
    const cp = await charger(CTX, "ocpp1.6");
    await cp.call("BootNotification", boot16);
    const statements = () => ocpp.central.groupCommits().calls.statements;
    const reading = async (wh: number) => {
      const answer = await cp.call("MeterValues", meterValue16(wh, 1_000));
      expect(answer[2]).toEqual({});
      const [m] = await events.waitFor(
        `the reading of ${wh} Wh`,
        (e) => e.key === CTX && e.type === "reading.measured" && e.payload.reading.total_charge_Wh === wh,
      );
      return m!.payload.reading;
    };
    expect(await reading(1_000)).toMatchObject({ connector_status: "unknown", session_id: null });
    // the same state: one statement
    const one = statements().one;
    expect(await reading(1_001)).toMatchObject({ connector_status: "unknown", upper_limit_W: [0, 11_000] });
    expect(statements().one).toBe(one + 1);

    await cp.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Charging" });
    const two = statements().two;
    expect(await reading(1_002)).toMatchObject({ connector_status: "occupied", charging_state: "charging" });
    expect(statements().two).toBe(two + 1);

    const started = await cp.call("StartTransaction", {
      connectorId: 1,
      idTag: "TAG-GC",
      meterStart: 1_002,
      timestamp: new Date().toISOString(),
    });
    const transactionId = (started[2] as { transactionId: number }).transactionId;
    expect(await reading(1_010)).toMatchObject({ session_id: transactionId, session_charge_Wh: 8 });

    // a change made elsewhere (the registry's DER, another instance): seen by the next batch all the same
    await ocpp.db.portDer.update({ where: { id: `der-${CTX}-1` }, data: { ratedPowerW: 7_400 } });
    expect(await reading(1_020)).toMatchObject({ upper_limit_W: [0, 7_400], session_id: transactionId });
    expect(await reading(1_030)).toMatchObject({ upper_limit_W: [0, 7_400], session_charge_Wh: 28 });
    expect(statements().one).toBeGreaterThanOrEqual(one + 2);
    const connector = await ocpp.db.connector.findUniqueOrThrow({
      where: { chargePointId_connectorId: { chargePointId: CTX, connectorId: 1 } },
    });
    expect(connector).toMatchObject({ energyRegisterWh: 1_030, status: "occupied" });
    cp.ws.close();
  });

  it("a StatusNotification storm: every status stored and published in each charger's order, answered once stored", async () => {
    const ids16 = V16.slice(6);
    const cps16 = await Promise.all(ids16.map((id) => charger(id, "ocpp1.6")));
    const cps201 = await Promise.all(V201.map((id) => charger(id, "ocpp2.0.1")));
    await Promise.all(cps16.map((cp) => cp.call("BootNotification", boot16)));
    await Promise.all(cps201.map((cp) => cp.call("BootNotification", boot201)));
    const seq16 = ["Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Available"];
    const seq201 = ["Occupied", "Available", "Occupied", "Faulted", "Available"];
    const before = ocpp.central.groupCommits().statuses;
    const t0 = Date.now();
    const at = (k: number) => new Date(t0 + k).toISOString();
    await Promise.all([
      ...cps16.map(async (cp, i) => {
        for (const [k, status] of seq16.entries()) {
          const answer = await cp.call("StatusNotification", {
            connectorId: 1 + (k % 2),
            errorCode: "NoError",
            status,
            timestamp: at(k),
          });
          expect(answer[2]).toEqual({});
          // answered once stored
          const row = await ocpp.db.connector.findUniqueOrThrow({
            where: { chargePointId_connectorId: { chargePointId: ids16[i]!, connectorId: 1 + (k % 2) } },
          });
          expect(row.ocppStatus).toBe(status);
        }
        await cp.call("StatusNotification", { connectorId: 0, errorCode: "NoError", status: "Available" });
      }),
      ...cps201.map(async (cp) => {
        for (const [k, status] of seq201.entries()) {
          const answer = await cp.call("StatusNotification", {
            timestamp: at(k),
            connectorStatus: status,
            evseId: 2,
            connectorId: 1,
          });
          expect(answer[2]).toEqual({});
        }
      }),
    ]);
    for (const id of ids16) {
      const changes = await events.waitFor(
        `${id}'s ${seq16.length + 1} status changes`,
        (m) => m.key === id && m.type === "connector.status_changed" && m.payload.ocppStatus !== undefined,
        seq16.length + 1,
      );
      expect(changes.map((m) => [m.payload.connectorId, m.payload.ocppStatus])).toEqual([
        ...seq16.map((status, k) => [1 + (k % 2), status]),
        [0, "Available"],
      ]);
      expect(await ocpp.db.chargePoint.findUniqueOrThrow({ where: { serialNumber: id } })).toMatchObject({
        status: "available",
      });
      const connectors = await ocpp.db.connector.findMany({
        where: { chargePointId: id, connectorId: { in: [1, 2] } },
        orderBy: { connectorId: "asc" },
      });
      expect(connectors.map((c) => c.ocppStatus)).toEqual(["Finishing", "Available"]);
      // each change is a reading of its connector's DER with the new status
      const readings = events.messages.filter(
        (m) =>
          m.key === id && m.type === "reading.measured" && m.payload.reading.total_charge_Wh === undefined,
      );
      expect(
        readings.slice(-2).map((m) => [m.payload.connectorId, m.payload.reading.connector_status]),
      ).toEqual([
        [1, "finishing"],
        [2, "available"],
      ]);
    }
    for (const id of V201) {
      const changes = await events.waitFor(
        `${id}'s ${seq201.length} status changes`,
        (m) => m.key === id && m.type === "connector.status_changed" && m.payload.connectorId === 2,
        seq201.length,
      );
      expect(changes.map((m) => m.payload.ocppStatus)).toEqual(seq201);
      const connector = await ocpp.db.connector.findUniqueOrThrow({
        where: { chargePointId_connectorId: { chargePointId: id, connectorId: 2 } },
      });
      expect(connector).toMatchObject({ ocppStatus: "Available", status: "available", evseConnectorId: 1 });
    }
    // a status older (by the charger's clock) than the stored one is kept out; a skewed clock is noted
    const late = await cps16[1]!.call("StatusNotification", {
      connectorId: 1,
      errorCode: "NoError",
      status: "Unavailable",
      timestamp: new Date(t0 - 60_000).toISOString(),
    });
    expect(late[2]).toEqual({});
    const key = { chargePointId: ids16[1]!, connectorId: 1 };
    expect(
      await ocpp.db.connector.findUniqueOrThrow({ where: { chargePointId_connectorId: key } }),
    ).toMatchObject({ ocppStatus: "Finishing" });
    const skewPoint = () => ocpp.db.chargePoint.findUniqueOrThrow({ where: { serialNumber: ids16[1]! } });
    await cps16[1]!.call("StatusNotification", {
      connectorId: 2,
      errorCode: "NoError",
      status: "Preparing",
      timestamp: new Date(Date.now() + 600_000).toISOString(),
    });
    expect(Math.abs(Number((await skewPoint()).clockSkewMs) - 600_000)).toBeLessThan(10_000);
    await cps16[1]!.call("StatusNotification", {
      connectorId: 2,
      errorCode: "NoError",
      status: "Available",
      timestamp: new Date().toISOString(),
    });
    expect((await skewPoint()).clockSkewMs).toBeNull();
    // a replay (same message id and content) is answered again and changes nothing
    const replay = { connectorId: 1, errorCode: "NoError", status: "Faulted", timestamp: at(10) };
    const first = await cps16[0]!.call("StatusNotification", replay, "status-replay");
    const again = await cps16[0]!.call("StatusNotification", replay, "status-replay");
    expect(again[2]).toEqual(first[2]);
    await waitFor("the outbox to be published", async () => {
      const [{ pending }] = await ocpp.db.$queryRawUnsafe<[{ pending: bigint }]>(
        "SELECT count(*) AS pending FROM outbox WHERE sent_at IS NULL",
      );
      return pending === 0n;
    });
    expect(
      events.messages.filter(
        (m) =>
          m.key === ids16[0] && m.type === "connector.status_changed" && m.payload.ocppStatus === "Faulted",
      ),
    ).toHaveLength(1);
    // written together, not call by call, and no batch had to be split up
    const after = ocpp.central.groupCommits().statuses;
    const calls = ids16.length * (seq16.length + 1) + V201.length * seq201.length + 5;
    expect(after.items - before.items).toBe(calls);
    expect(after.batches - before.batches).toBeLessThan(calls);
    expect(after.failed).toBe(before.failed);
    for (const cp of [...cps16, ...cps201]) cp.ws.close();
  });
});
