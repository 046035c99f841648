import { topics } from "@energy/contracts";
import { readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HOUR,
  hoursAgo,
  reservationBody,
  type Service,
  seedDevices,
  seedOrg,
  startReservation,
} from "./helpers.ts";

let svc: Service;
const BUYER = "org-buyer";
const OTHER_BUYER = "org-other-buyer";
const path = (orgId = BUYER) => `/organizations/${orgId}/reservations`;

beforeAll(async () => {
  svc = await startReservation();
  await seedOrg(svc.db, BUYER, "buyer", {
    "usr-owner": "owner",
    "usr-sub": "operator",
    "usr-viewer": "viewer",
  });
  await seedOrg(svc.db, OTHER_BUYER, "buyer", { "usr-other": "admin" });
  await seedOrg(svc.db, "org-dev-1", "developer", { "usr-dev": "owner" });
  await seedOrg(svc.db, "org-dev-2", "developer");
  // Devices of two developers in the same country, and one abroad.
  await seedDevices(
    svc.db,
    "org-dev-1",
    Array.from({ length: 12 }, (_, i) => `dev-a${i}`),
    { capacityW: 80_000 },
  );
  await seedDevices(
    svc.db,
    "org-dev-2",
    Array.from({ length: 6 }, (_, i) => `dev-b${i}`),
    { capacityW: 40_000 },
  );
  await seedDevices(svc.db, "org-dev-2", ["dev-se"], { countryCode: "SWE" });
});
afterAll(async () => {
  await svc?.close();
});

/** The reservation's events on reservation.reservation.v1 (type and payload), waiting until there are `count`. */
async function eventsOf(reservationId: string, count: number) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const messages = await readTopic(
      svc.kafka,
      `${svc.testKafka.topicPrefix}${topics.reservationReservation.name}`,
      { count: Number.MAX_SAFE_INTEGER, timeoutMs: 1_500 },
    );
    const events = messages
      .filter((m) => m.key === reservationId)
      .map((m) => ({ type: JSON.parse(m.headers.envelope!).type as string, payload: JSON.parse(m.value!) }));
    if (events.length >= count || Date.now() > deadline) return events;
  }
}

const create = (body: object, who = "usr-sub", orgId = BUYER) =>
  svc.app.inject({ method: "POST", url: path(orgId), headers: svc.auth(who), payload: body });

describe("creating a reservation", () => {
  it("reserves devices of several organizations and answers with the seed's response shape", async () => {
    const res = await create(reservationBody(["dev-a0", "dev-b0"], { targetVolumeInMegaWattHour: 12.5 }));
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      name: "Netflix 2026",
      organizationId: BUYER,
      buyerId: BUYER,
      buyerAddress: "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F",
      countryCode: "IND",
      fuelCode: "ES100",
      aggregatedCapacity: 120,
      frequency: "hourly",
      targetVolumeInMegaWattHour: 12.5,
      targetVolumeCertificateGenerationRequestedInMegaWattHour: 0,
      targetVolumeCertificateGenerationSucceededInMegaWattHour: 0,
      targetVolumeCertificateGenerationFailedInMegaWattHour: 0,
      authorityToExceed: true,
      leftoverReads: 0,
      leftoverReadsByCountryCode: {},
      organization: { id: BUYER, name: `Org ${BUYER}` },
      status: "active",
      leftOutDevices: [],
    });
    expect(body.devices.map((d: { id: string; organizationId: string }) => [d.id, d.organizationId])).toEqual(
      [
        ["dev-a0", "org-dev-1"],
        ["dev-b0", "org-dev-2"],
      ],
    );
    // The owners are told (registry) and the reservation is logged on chain (certificate): an event.
    const messages = await readTopic(
      svc.kafka,
      `${svc.testKafka.topicPrefix}${topics.reservationReservation.name}`,
      {
        count: 1,
      },
    );
    const created = messages.map((m) => JSON.parse(m.value!)).find((p) => p.reservationId === body.id);
    expect(created).toMatchObject({
      deviceIds: ["dev-a0", "dev-b0"],
      deviceOrgIds: ["org-dev-1", "org-dev-2"],
    });
  });

  it.each([
    ["an unknown device", { deviceIds: ["dev-nope"] }, "unknown_devices", "deviceIds"],
    [
      "a wrong-checksum address",
      { blockchainAddress: "0x410cB6672F7ebE397F866fC2CE1020cB18Ac6C5F" },
      "invalid_address_checksum",
      "blockchainAddress",
    ],
    ["a malformed address", { blockchainAddress: "0x1234" }, "invalid_address", "blockchainAddress"],
    [
      "an end before the start",
      { reservationStartDate: hoursAgo(-5).toISOString(), reservationEndDate: hoursAgo(-2).toISOString() },
      "end_before_start",
      "reservationEndDate",
    ],
    [
      "an end already past",
      { reservationStartDate: hoursAgo(10).toISOString(), reservationEndDate: hoursAgo(2).toISOString() },
      "end_in_past",
      "reservationEndDate",
    ],
    [
      "a start more than 12 months ago",
      { reservationStartDate: new Date(Date.now() - 400 * 24 * HOUR).toISOString() },
      "start_too_far_in_past",
      "reservationStartDate",
    ],
    ["an unknown frequency", { frequency: "fortnightly" }, "validation_failed", "frequency"],
    [
      "a negative target",
      { targetVolumeInMegaWattHour: -1 },
      "validation_failed",
      "targetVolumeInMegaWattHour",
    ],
    [
      "a target beyond any reservation (1e308 MWh, once a 500)",
      { targetVolumeInMegaWattHour: 1e308 },
      "validation_failed",
      "targetVolumeInMegaWattHour",
    ],
    [
      "a date that is no date",
      { reservationStartDate: "yesterday" },
      "validation_failed",
      "reservationStartDate",
    ],
  ])("refuses %s with a 400 naming it", async (_what, change, code, field) => {
    const res = await create(reservationBody(["dev-a11"], change));
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe(code);
    expect(JSON.stringify(error)).toContain(field);
  });

  it("refuses a target below the devices' capacity over the period unless told to go on", async () => {
    const body = reservationBody(["dev-a10"], {
      targetVolumeInMegaWattHour: 1,
      continueWithReservationIfTargetCapacityIsLessThanDeviceTotalCapacityBetweenDuration: false,
    });
    const refused = await create(body);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe("target_below_device_capacity");
    const goesOn = await create({
      ...body,
      continueWithReservationIfTargetCapacityIsLessThanDeviceTotalCapacityBetweenDuration: true,
    });
    expect(goesOn.statusCode).toBe(201);
  });
});

describe("one buyer per device", () => {
  it("refuses another buyer's request for a reserved device, or goes on without it when told to", async () => {
    expect((await create(reservationBody(["dev-a1"]))).statusCode).toBe(201);
    const refused = await create(reservationBody(["dev-a1", "dev-a2"]), "usr-other", OTHER_BUYER);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({ code: "devices_unavailable" });
    expect(refused.json().error.details.devices).toEqual([
      expect.objectContaining({ deviceId: "dev-a1", reason: "reserved" }),
    ]);

    const without = await create(
      reservationBody(["dev-a1", "dev-a2"], {
        continueWithReservationIfOneOrMoreDevicesUnavailableForReservation: true,
      }),
      "usr-other",
      OTHER_BUYER,
    );
    expect(without.statusCode).toBe(201);
    expect(without.json().devices.map((d: { id: string }) => d.id)).toEqual(["dev-a2"]);
    expect(without.json().leftOutDevices).toEqual([
      expect.objectContaining({ deviceId: "dev-a1", reason: "reserved" }),
    ]);
  });

  it("lets exactly one of two concurrent requests for the same device win", async () => {
    const results = await Promise.all([
      create(reservationBody(["dev-a3", "dev-a4"])),
      create(reservationBody(["dev-a4", "dev-a5"]), "usr-other", OTHER_BUYER),
      create(reservationBody(["dev-a4"]), "usr-owner"),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409, 409]);
    const locks = await svc.db.deviceLock.findMany({ where: { deviceId: "dev-a4" } });
    expect(locks).toHaveLength(1);
  });
});

describe("changing and ending a reservation", () => {
  it("adds and removes devices, never changes the frequency", async () => {
    const { id } = (await create(reservationBody(["dev-a6"]))).json();
    const url = `${path()}/${id}`;
    const before = Date.now();
    const changed = await svc.app.inject({
      method: "PATCH",
      url,
      headers: svc.auth("usr-sub"),
      payload: { addDeviceIds: ["dev-b1", "dev-b2"], removeDeviceIds: ["dev-a6"] },
    });
    expect(changed.statusCode).toBe(200);
    const after = Date.now();
    expect(changed.json().devices.map((d: { id: string }) => d.id)).toEqual(["dev-b1", "dev-b2"]);

    const frequency = await svc.app.inject({
      method: "PATCH",
      url,
      headers: svc.auth("usr-sub"),
      payload: { frequency: "daily", addDeviceIds: ["dev-b3"] },
    });
    expect(frequency.statusCode).toBe(400);
    expect(frequency.json().error).toMatchObject({
      code: "frequency_immutable",
      details: { field: "frequency" },
    });

    // The removed device cools down 12 hours before anyone may reserve it again.
    const removed = await create(reservationBody(["dev-a6"]), "usr-other", OTHER_BUYER);
    expect(removed.statusCode).toBe(409);
    expect(removed.json().error.details.devices[0]).toMatchObject({
      deviceId: "dev-a6",
      reason: "cooling_down",
    });
    // The update event says until when (the registry keeps the device's groups fixed until then).
    const { availableAgainAt } = removed.json().error.details.devices[0];
    const events = await eventsOf(id, 2);
    expect(events.map((e) => e.type)).toEqual(["reservation.created", "reservation.updated"]);
    expect(events[0]?.payload.releasedDevices).toBeUndefined();
    expect(events[1]?.payload).toMatchObject({
      deviceIds: ["dev-b1", "dev-b2"],
      releasedDevices: [{ deviceId: "dev-a6", availableAgainAt }],
    });
    expect(Date.parse(availableAgainAt)).toBeGreaterThanOrEqual(before + 12 * HOUR);
    expect(Date.parse(availableAgainAt)).toBeLessThanOrEqual(after + 12 * HOUR);
  });

  it("ends on DELETE; its devices stay unavailable for 12 hours, then are free again", async () => {
    const { id } = (await create(reservationBody(["dev-a7"]))).json();
    const ended = await svc.app.inject({
      method: "DELETE",
      url: `${path()}/${id}`,
      headers: svc.auth("usr-owner"),
    });
    expect(ended.statusCode).toBe(200);
    expect(ended.json()).toMatchObject({ status: "ended", endReason: "cancelled" });

    const during = await create(reservationBody(["dev-a7"]), "usr-other", OTHER_BUYER);
    expect(during.statusCode).toBe(409);
    const { availableAgainAt } = during.json().error.details.devices[0];
    expect(Date.parse(availableAgainAt) - Date.parse(ended.json().endedAt)).toBe(12 * HOUR);
    const events = await eventsOf(id, 2);
    expect(events[1]).toMatchObject({
      type: "reservation.ended",
      payload: {
        reason: "cancelled",
        deviceIds: ["dev-a7"],
        availableAgainAt,
        releasedDevices: [{ deviceId: "dev-a7", availableAgainAt }],
      },
    });

    // 12 hours later (the lock's cool-down moved into the past, as time would).
    await svc.db.deviceLock.update({
      where: { deviceId: "dev-a7" },
      data: { lockedUntil: new Date(Date.now() - 1) },
    });
    expect((await create(reservationBody(["dev-a7"]), "usr-other", OTHER_BUYER)).statusCode).toBe(201);
  });

  it("releases a reservation past its end automatically, and by hand when that did not happen", async () => {
    const end = new Date(Date.now() + 60_000);
    const { id } = (
      await create(reservationBody(["dev-a8"], { reservationEndDate: end.toISOString() }))
    ).json();
    await svc.issue(new Date(end.getTime() + 1)); // the issuance pass after its end
    const after = await svc.app.inject({
      method: "GET",
      url: `${path()}/${id}`,
      headers: svc.auth("usr-viewer"),
    });
    expect(after.json()).toMatchObject({ status: "ended", endReason: "expired", endedAt: end.toISOString() });
    const lock = await svc.db.deviceLock.findUniqueOrThrow({ where: { deviceId: "dev-a8" } });
    expect(lock.lockedUntil?.getTime()).toBe(end.getTime() + 12 * HOUR);

    // A reservation past its end that the automatic release missed (e.g. the service was down).
    const missed = (await create(reservationBody(["dev-a9"]))).json();
    await svc.db.reservation.update({
      where: { id: missed.id },
      data: { end: new Date(Date.now() - 1_000) },
    });
    const released = await svc.app.inject({
      method: "POST",
      url: `${path()}/${missed.id}/release`,
      headers: svc.auth("usr-sub"),
    });
    expect(released.statusCode).toBe(200);
    expect(released.json()).toMatchObject({ status: "ended", endReason: "expired" });
    const early = await svc.app.inject({
      method: "POST",
      url: `${path()}/${(await create(reservationBody(["dev-b4"]))).json().id}/release`,
      headers: svc.auth("usr-sub"),
    });
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe("reservation_active");
  });
});

describe("access", () => {
  it("lets a viewer read but not reserve; another buyer's reservation is not found", async () => {
    const { id } = (await create(reservationBody(["dev-b5"]))).json();
    const viewer = await svc.app.inject({
      method: "GET",
      url: `${path()}/${id}`,
      headers: svc.auth("usr-viewer"),
    });
    expect(viewer.statusCode).toBe(200);
    expect((await create(reservationBody(["dev-a11"]), "usr-viewer")).statusCode).toBe(403);

    // Another buyer asking under its own organization, or under ours.
    const theirs = await svc.app.inject({
      method: "GET",
      url: `${path(OTHER_BUYER)}/${id}`,
      headers: svc.auth("usr-other"),
    });
    expect(theirs.statusCode).toBe(404);
    const ours = await svc.app.inject({
      method: "GET",
      url: `${path()}/${id}`,
      headers: svc.auth("usr-other"),
    });
    expect(ours.statusCode).toBe(404);
    const del = await svc.app.inject({
      method: "DELETE",
      url: `${path(OTHER_BUYER)}/${id}`,
      headers: svc.auth("usr-other"),
    });
    expect(del.statusCode).toBe(404);
  });

  it("refuses reservations by a developer organization", async () => {
    const res = await create(reservationBody(["dev-a11"]), "usr-dev", "org-dev-1");
    expect(res.statusCode).toBe(403);
  });
});

describe("device grouping", () => {
  it("groups free devices across the organizations of one country with their expected production", async () => {
    const res = await svc.app.inject({
      method: "POST",
      url: `/organizations/${BUYER}/reservation-candidates`,
      headers: svc.auth("usr-viewer"),
      payload: {
        countryCode: "IND",
        fuelCode: "ES100",
        starttime: new Date(Date.now() + HOUR).toISOString(),
        endtime: new Date(Date.now() + 25 * HOUR).toISOString(),
        targetVolume: 0.2,
      },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const ids = body.candidates.map((c: { device: { id: string } }) => c.device.id);
    expect(ids).not.toContain("dev-se"); // another country
    expect(ids).not.toContain("dev-a0"); // reserved
    expect(body.organizationIds).toEqual(["org-dev-1", "org-dev-2"]);
    // 80 kW × 24 h × 1,500/8,760 ≈ 329 kWh per dev-a device.
    expect(body.candidates[0].expectedProductionWh).toBe(Math.round(80_000 * 24 * (1_500 / 8_760)));
    expect(body.coversTarget).toBe(true);
  });
});
