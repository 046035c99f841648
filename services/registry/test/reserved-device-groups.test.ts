import { randomUUID } from "node:crypto";
import { type Reservation, topics } from "@energy/contracts";
import { EventProducer } from "@energy/kafka";
import { waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry } from "./helpers.ts";

/**
 * Device groups of devices in a buyer's active reservation cannot be changed: the reservation service's
 * events (reservation.reservation.v1, published here as it publishes them, through the contracts catalog)
 * reach the registry's "reservations" consumer, and the group routes refuse with 409 devices_reserved.
 */
describe("device groups of reserved devices", () => {
  let r: Awaited<ReturnType<typeof startRegistry>>;
  let reservationService: EventProducer;
  let orgId: string;
  let siteId: string;
  const HOUR = 3_600_000;

  function call(method: "GET" | "POST" | "PATCH" | "DELETE", url: string, payload?: unknown) {
    return r.app.inject({
      method,
      url,
      headers: r.auth("usr-dev"),
      ...(payload ? { payload: payload as object } : {}),
    });
  }

  beforeAll(async () => {
    r = await startRegistry({}, { consumers: true });
    reservationService = new EventProducer(r.testKafka.kafka, {
      source: "reservation",
      topicPrefix: r.testKafka.topicPrefix,
    });
    await reservationService.connect();
    await r.db.identity.create({ data: { id: "usr-dev", type: "user", name: "Developer" } });
    orgId = (await call("POST", "/organizations", { name: "Solar Developer", kind: "developer" })).json().id;
    siteId = (await call("POST", `/organizations/${orgId}/sites`, { name: "S", timezone: "UTC" })).json().id;
  });
  afterAll(async () => {
    await reservationService?.disconnect();
    await r?.close();
  });

  async function newDevice(name: string): Promise<string> {
    const res = await call("POST", `/organizations/${orgId}/devices`, {
      siteId,
      type: "inverter",
      name,
      countryCode: "IND",
    });
    expect(res.statusCode).toBe(201);
    return res.json().id;
  }

  async function newGroup(deviceIds: string[]): Promise<string> {
    const res = await call("POST", `/organizations/${orgId}/device-groups`, { name: "G", deviceIds });
    expect(res.statusCode).toBe(201);
    return res.json().id;
  }

  const snapshot = (reservationId: string, deviceIds: string[]): Reservation => ({
    reservationId,
    name: "Netflix 2026",
    buyerOrgId: "org-buyer",
    buyerOrganization: {
      orgId: "org-buyer",
      name: "Buyer",
      blockchainAccountAddress: "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F",
    },
    buyerAddress: "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F",
    deviceIds: [...deviceIds].sort(),
    devices: deviceIds.map((deviceId) => ({
      deviceId,
      orgId,
      siteId,
      name: deviceId,
      externalId: null,
      countryCode: "IND",
      fuelCode: null,
      deviceTypeCode: null,
      type: "inverter",
      capacityW: null,
      commissioningDate: null,
      gridInterconnection: null,
      offTaker: null,
      address: null,
      latitude: null,
      longitude: null,
    })),
    deviceOrgIds: [orgId],
    start: new Date(Date.now() - 24 * HOUR).toISOString(),
    end: new Date(Date.now() + 24 * HOUR).toISOString(),
    frequency: "hourly",
    timezone: "UTC",
    targetVolumeWh: null,
    authorityToExceed: false,
    status: "active",
  });

  const publish = (
    type: "reservation.created" | "reservation.updated",
    reservationId: string,
    deviceIds: string[],
    released?: { deviceId: string; availableAgainAt: string }[],
  ) =>
    reservationService.publish(topics.reservationReservation, type, {
      ...snapshot(reservationId, deviceIds),
      ...(released ? { releasedDevices: released } : {}),
    });

  const publishEnded = (reservationId: string, deviceIds: string[], endedAt: Date) =>
    reservationService.publish(topics.reservationReservation, "reservation.ended", {
      reservationId,
      buyerOrgId: "org-buyer",
      reason: "cancelled",
      endedAt: endedAt.toISOString(),
      deviceIds,
      availableAgainAt: new Date(endedAt.getTime() + 12 * HOUR).toISOString(),
    });

  /** Waits until the registry's consumer has applied the reservation's latest event. */
  const applied = (
    reservationId: string,
    check: (rows: { deviceId: string; availableAgainAt: Date | null }[]) => boolean,
  ) =>
    waitFor(`reservation ${reservationId} applied`, async () =>
      check(await r.db.reservedDevice.findMany({ where: { reservationId }, orderBy: { deviceId: "asc" } })),
    );

  it("refuses adding, removing and deleting groups of devices in an active reservation, naming them", async () => {
    const [a, b, c] = [await newDevice("A"), await newDevice("B"), await newDevice("C")];
    const group = await newGroup([a, b]);
    const other = await newGroup([c]);
    const reservationId = `res-${randomUUID()}`;
    await publish("reservation.created", reservationId, [a]);
    await applied(reservationId, (rows) => rows.length === 1);

    const removeA = await call("DELETE", `/organizations/${orgId}/device-groups/${group}/devices/${a}`);
    expect(removeA.statusCode).toBe(409);
    expect(removeA.json().error.code).toBe("devices_reserved");
    expect(removeA.json().error.message).toContain(a);
    expect(removeA.json().error.details.devices).toEqual([
      { deviceId: a, reservationId, availableAgainAt: null },
    ]);

    const addA = await call("POST", `/organizations/${orgId}/device-groups/${other}/devices`, {
      deviceIds: [a],
    });
    expect(addA.statusCode).toBe(409);
    expect(addA.json().error.details.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual([a]);
    const createWithA = await call("POST", `/organizations/${orgId}/device-groups`, {
      name: "new",
      deviceIds: [c, a],
    });
    expect(createWithA.statusCode).toBe(409);
    const deleteGroup = await call("DELETE", `/organizations/${orgId}/device-groups/${group}`);
    expect(deleteGroup.statusCode).toBe(409);
    expect(deleteGroup.json().error.message).toContain(a);

    // nothing changed
    const after = await call("GET", `/organizations/${orgId}/device-groups/${group}`);
    expect(after.json().deviceIds).toEqual([a, b]);
    expect((await call("GET", `/organizations/${orgId}/device-groups/${other}`)).json().deviceIds).toEqual([
      c,
    ]);
    // a device not in a reservation, and the group's metadata, may still change
    expect(
      (await call("PATCH", `/organizations/${orgId}/device-groups/${group}`, { name: "Renamed" })).statusCode,
    ).toBe(200);
    expect(
      (await call("DELETE", `/organizations/${orgId}/device-groups/${group}/devices/${b}`)).statusCode,
    ).toBe(204);

    // PATCH of the reservation, as an update published before releasedDevices existed: c joins (now
    // protected), a leaves (the event does not say until when: free at once)
    await publish("reservation.updated", reservationId, [c]);
    await applied(reservationId, (rows) => rows.length === 1 && rows[0]?.deviceId === c);
    const removeC = await call("DELETE", `/organizations/${orgId}/device-groups/${other}/devices/${c}`);
    expect(removeC.statusCode).toBe(409);
    expect(removeC.json().error.details.devices).toEqual([
      { deviceId: c, reservationId, availableAgainAt: null },
    ]);
    expect(
      (await call("DELETE", `/organizations/${orgId}/device-groups/${group}/devices/${a}`)).statusCode,
    ).toBe(204);
  });

  it("keeps a device removed by PATCH reserved until the end of its cool-down the update names", async () => {
    const [f, g, h] = [await newDevice("F"), await newDevice("G"), await newDevice("H")];
    const group = await newGroup([f, g, h]);
    const reservationId = `res-${randomUUID()}`;
    await publish("reservation.created", reservationId, [f, g, h]);
    await applied(reservationId, (rows) => rows.length === 3);

    // f removed now (cooling down 12 h), g removed with a cool-down already over (the event replayed late)
    const until = new Date(Date.now() + 12 * HOUR).toISOString();
    await publish(
      "reservation.updated",
      reservationId,
      [h],
      [
        { deviceId: f, availableAgainAt: until },
        { deviceId: g, availableAgainAt: new Date(Date.now() - 1_000).toISOString() },
      ],
    );
    await applied(reservationId, (rows) => rows.filter((row) => row.availableAgainAt !== null).length === 2);
    const refused = await call("DELETE", `/organizations/${orgId}/device-groups/${group}/devices/${f}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe("devices_reserved");
    expect(refused.json().error.details.devices).toEqual([
      { deviceId: f, reservationId, availableAgainAt: until },
    ]);
    expect(refused.json().error.message).toContain(`free at ${until}`);
    expect(
      (await call("DELETE", `/organizations/${orgId}/device-groups/${group}/devices/${g}`)).statusCode,
    ).toBe(204);

    // the reservation ends later: h cools down from its end, f keeps its own (earlier) end of cool-down
    const endedAt = new Date(Date.now() + 60_000);
    await publishEnded(reservationId, [h], endedAt);
    await applied(reservationId, (rows) => rows.every((row) => row.availableAgainAt !== null));
    const rows = await r.db.reservedDevice.findMany({
      where: { reservationId },
      orderBy: { deviceId: "asc" },
    });
    const byDevice = Object.fromEntries(
      rows.map((row) => [row.deviceId, row.availableAgainAt?.toISOString()]),
    );
    expect(byDevice[f]).toBe(until);
    expect(byDevice[h]).toBe(new Date(endedAt.getTime() + 12 * HOUR).toISOString());

    // once f's cool-down is over (moved into the past, as time would), its groups may change
    await r.db.reservedDevice.update({
      where: { reservationId_deviceId: { reservationId, deviceId: f } },
      data: { availableAgainAt: new Date(Date.now() - 1) },
    });
    expect(
      (await call("DELETE", `/organizations/${orgId}/device-groups/${group}/devices/${f}`)).statusCode,
    ).toBe(204);
  });

  it("keeps refusing through the 12-hour cool-down after the reservation ended, and allows the change after it", async () => {
    const [d, e] = [await newDevice("D"), await newDevice("E")];
    const group = await newGroup([d]);
    const cooling = `res-${randomUUID()}`;
    await publish("reservation.created", cooling, [d]);
    const endedAt = new Date();
    await publishEnded(cooling, [d], endedAt);
    await applied(cooling, (rows) => rows.length === 1 && rows[0]?.availableAgainAt !== null);
    const refused = await call("DELETE", `/organizations/${orgId}/device-groups/${group}/devices/${d}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.details.devices).toEqual([
      {
        deviceId: d,
        reservationId: cooling,
        availableAgainAt: new Date(endedAt.getTime() + 12 * HOUR).toISOString(),
      },
    ]);
    expect(refused.json().error.message).toContain("free at");

    // a reservation that ended 13 hours ago: its cool-down is over, the group may change
    const groupE = await newGroup([e]);
    const past = `res-${randomUUID()}`;
    await publish("reservation.created", past, [e]);
    await publishEnded(past, [e], new Date(Date.now() - 13 * HOUR));
    await applied(past, (rows) => rows.length === 1 && rows[0]?.availableAgainAt !== null);
    expect(
      (await call("POST", `/organizations/${orgId}/device-groups/${groupE}/devices`, { deviceIds: [d] }))
        .statusCode,
    ).toBe(409);
    expect(
      (await call("DELETE", `/organizations/${orgId}/device-groups/${groupE}/devices/${e}`)).statusCode,
    ).toBe(204);
    expect((await call("DELETE", `/organizations/${orgId}/device-groups/${groupE}`)).statusCode).toBe(204);
  });
});
