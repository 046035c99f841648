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

// The reservation expiry job runs every 200 ms here (RESERVATION_EXPIRY_INTERVAL_MS).
const OWNER = "usr-resv-owner";
let ocpp: Ocpp;
let events: Awaited<ReturnType<typeof collectTopics>>;
let cp16: RPCClient;
let cp201: RPCClient;

beforeAll(async () => {
  ocpp = await startOcpp({ RESERVATION_EXPIRY_INTERVAL_MS: "200" }, { commands: true });
  events = await collectTopics(ocpp.kafka, ocpp.testKafka.topicPrefix, [topics.ocppCharger]);
  await seedCharger(ocpp.db, { chargePointId: "dev-resv-16", owner: OWNER });
  await seedCharger(ocpp.db, { chargePointId: "dev-resv-201", owner: OWNER });
  cp16 = await ocpp.connect("dev-resv-16", PASSWORD, "ocpp1.6");
  cp201 = await ocpp.connect("dev-resv-201", PASSWORD, "ocpp2.0.1");
  for (const cp of [cp16, cp201]) cp.handle("ReserveNow", async () => ({ status: "Accepted" }));
  await cp16.call("BootNotification", boot16);
  await cp201.call("BootNotification", boot201);
});
afterAll(async () => {
  await events?.close();
  await ocpp?.close();
});

const reserve = async (chargePointId: string, reservationId: number, expiresInMs: number) => {
  const res = await ocpp.app.inject({
    method: "POST",
    url: `/v1/orgs/${ORG}/chargers/${chargePointId}/commands`,
    headers: ocpp.auth(OWNER),
    payload: {
      command: "reserve_now",
      reservationId,
      connectorId: 1,
      idTag: "TAG-R",
      expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
    },
  });
  expect(res.json()).toMatchObject({ status: "completed", response: { status: "Accepted" } });
};

const reservation = async (chargePointId: string, reservationId: number) => {
  const res = await ocpp.app.inject({
    method: "GET",
    url: `/v1/orgs/${ORG}/chargers/${chargePointId}/reservations`,
    headers: ocpp.auth(OWNER),
  });
  expect(res.statusCode).toBe(200);
  return (res.json().reservations as Array<Record<string, unknown>>).find(
    (r) => r.reservationId === reservationId,
  );
};

const stateOf = async (chargePointId: string, id: number) =>
  (await ocpp.db.reservation.findUnique({ where: { chargePointId_id: { chargePointId, id } } }))?.state;

describe("reservations: expiry and use", () => {
  it("an unused reservation expires at its expiryDate: marked expired and published", async () => {
    await reserve("dev-resv-16", 1, 1_000);
    expect(await reservation("dev-resv-16", 1)).toMatchObject({ state: "active", idTag: "TAG-R" });
    const [expired] = await events.waitFor(
      "reservation expired",
      (m) => m.type === "reservation.expired" && m.key === "dev-resv-16" && m.payload.reservationId === 1,
    );
    expect(expired!.payload).toMatchObject({
      chargePointId: "dev-resv-16",
      connectorId: 1,
      idTag: "TAG-R",
      detectedBy: "central_system",
    });
    const row = await reservation("dev-resv-16", 1);
    expect(row).toMatchObject({ state: "expired", transactionId: null });
    // not before its time
    expect(new Date(row!.endedAt as string).getTime()).toBeGreaterThanOrEqual(
      new Date(expired!.payload.expiresAt).getTime(),
    );
  });

  it("a 1.6 StartTransaction naming the reservation uses it; the expiry job then leaves it alone", async () => {
    await reserve("dev-resv-16", 2, 1_500);
    await reserve("dev-resv-16", 5, 1_500);
    const started = (await cp16.call("StartTransaction", {
      connectorId: 1,
      idTag: "TAG-R",
      meterStart: 100,
      reservationId: 2,
      timestamp: new Date().toISOString(),
    })) as { transactionId: number };
    const [used] = await events.waitFor(
      "reservation used",
      (m) => m.type === "reservation.used" && m.key === "dev-resv-16" && m.payload.reservationId === 2,
    );
    expect(used!.payload).toMatchObject({
      connectorId: 1,
      transactionId: String(started.transactionId),
      idTag: "TAG-R",
    });
    // past its expiry, a used reservation stays used: once an unused one that expires later (5) has
    // expired, the job has run after reservation 2's expiry too
    await waitFor("the later one expired", async () =>
      (await stateOf("dev-resv-16", 5)) === "expired" ? true : null,
    );
    expect(await reservation("dev-resv-16", 2)).toMatchObject({
      state: "used",
      transactionId: String(started.transactionId),
      usedByIdTag: "TAG-R",
    });
    expect(
      events.messages.filter((m) => m.type === "reservation.expired" && m.payload.reservationId === 2),
    ).toEqual([]);
  });

  it("a start queued while offline uses a reservation it started before the expiry, even after the job expired it", async () => {
    const before = new Date().toISOString();
    await reserve("dev-resv-16", 3, 800);
    await reserve("dev-resv-16", 4, 800);
    await waitFor("both expired", async () =>
      (await stateOf("dev-resv-16", 3)) === "expired" && (await stateOf("dev-resv-16", 4)) === "expired"
        ? true
        : null,
    );
    // started (charger time) before the expiry, sent after reconnecting
    await cp16.call("StartTransaction", {
      connectorId: 1,
      idTag: "TAG-R",
      meterStart: 200,
      reservationId: 3,
      timestamp: before,
    });
    expect(await stateOf("dev-resv-16", 3)).toBe("used");
    // started after the expiry: the reservation was gone, it stays expired
    await cp16.call("StartTransaction", {
      connectorId: 1,
      idTag: "TAG-R",
      meterStart: 300,
      reservationId: 4,
      timestamp: new Date().toISOString(),
    });
    expect(await stateOf("dev-resv-16", 4)).toBe("expired");
  });

  it("2.0.1: a TransactionEvent naming the reservation uses it; ReservationStatusUpdate Expired / Removed end it", async () => {
    await reserve("dev-resv-201", 10, 3_600_000);
    await cp201.call("TransactionEvent", {
      eventType: "Started",
      timestamp: new Date().toISOString(),
      triggerReason: "Authorized",
      seqNo: 0,
      reservationId: 10,
      transactionInfo: { transactionId: "tx-resv-10" },
      idToken: { idToken: "TAG-R", type: "ISO14443" },
      evse: { id: 1, connectorId: 1 },
    });
    const [used] = await events.waitFor(
      "2.0.1 reservation used",
      (m) => m.type === "reservation.used" && m.key === "dev-resv-201" && m.payload.reservationId === 10,
    );
    expect(used!.payload).toMatchObject({ transactionId: "tx-resv-10", connectorId: 1, idTag: "TAG-R" });

    await reserve("dev-resv-201", 11, 3_600_000);
    await reserve("dev-resv-201", 12, 3_600_000);
    expect(
      await cp201.call("ReservationStatusUpdate", { reservationId: 11, reservationUpdateStatus: "Expired" }),
    ).toEqual({});
    expect(
      await cp201.call("ReservationStatusUpdate", { reservationId: 12, reservationUpdateStatus: "Removed" }),
    ).toEqual({});
    const [expired] = await events.waitFor(
      "expired by the charger",
      (m) => m.type === "reservation.expired" && m.key === "dev-resv-201" && m.payload.reservationId === 11,
    );
    expect(expired!.payload.detectedBy).toBe("charger");
    expect(await reservation("dev-resv-201", 12)).toMatchObject({ state: "removed" });
    // an unknown reservation is acknowledged and changes nothing
    expect(
      await cp201.call("ReservationStatusUpdate", { reservationId: 999, reservationUpdateStatus: "Expired" }),
    ).toEqual({});
    const expiredOnly = await ocpp.app.inject({
      method: "GET",
      url: `/v1/orgs/${ORG}/chargers/dev-resv-201/reservations?state=expired`,
      headers: ocpp.auth(OWNER),
    });
    expect(expiredOnly.json().reservations.map((r: { reservationId: number }) => r.reservationId)).toEqual([
      11,
    ]);
  });
});
