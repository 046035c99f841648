import { type Device, topics } from "@energy/contracts";
import { EventProducer } from "@energy/kafka";
import { waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOUR, type Service, seedOrg, startReservation } from "./helpers.ts";

/**
 * Device grouping (the seed's Buyer Reservation form: country, fuel code, device code, off-taker, target
 * capacity): devices of several developer organizations arrive as the registry publishes them on
 * registry.device.v1 (real Kafka, the service's consumer), and the filters narrow the candidates.
 */
let svc: Service;
let registry: EventProducer;

const device = (deviceId: string, orgId: string, fields: Partial<Device>): Device => ({
  deviceId,
  orgId,
  siteId: `sit-${orgId}`,
  type: "inverter",
  state: "active",
  name: deviceId,
  commIdentityId: null,
  externalId: null,
  make: null,
  model: null,
  capacityW: 10_000,
  commissioningDate: "2022-01-01",
  countryCode: "KEN",
  fuelCode: "ES100",
  deviceTypeCode: "TC110",
  offTaker: "School",
  gridInterconnection: true,
  address: null,
  latitude: null,
  longitude: null,
  ...fields,
});

const FLEET: Device[] = [
  device("dev-a-school", "org-dev-a", { capacityW: 40_000 }),
  device("dev-a-clinic", "org-dev-a", { offTaker: "Health facility", capacityW: 30_000 }),
  device("dev-b-school", "org-dev-b", { capacityW: 20_000 }),
  device("dev-b-tc120", "org-dev-b", { deviceTypeCode: "TC120", capacityW: 15_000 }),
  device("dev-c-clinic-tc120", "org-dev-c", {
    deviceTypeCode: "TC120",
    offTaker: "Health facility",
    capacityW: 12_000,
  }),
  device("dev-c-diesel", "org-dev-c", { fuelCode: "ES200", capacityW: 11_000 }),
  device("dev-nga-school", "org-dev-c", { countryCode: "NGA", capacityW: 50_000 }),
  // an event written before the registry carried the grouping fields
  (({ deviceTypeCode: _t, offTaker: _o, gridInterconnection: _g, ...old }) => old)(
    device("dev-a-old-event", "org-dev-a", { capacityW: 9_000 }),
  ) as Device,
];

beforeAll(async () => {
  svc = await startReservation({}, { consumers: true });
  await seedOrg(svc.db, "org-buyer", "buyer", { "usr-buyer": "owner" });
  registry = new EventProducer(svc.kafka, { source: "registry", topicPrefix: svc.testKafka.topicPrefix });
  await registry.connect();
  for (const d of FLEET) await registry.publish(topics.registryDevice, "device.registered", d);
  await waitFor(
    "the registry's devices projected",
    async () => (await svc.db.device.count()) === FLEET.length,
  );
});
afterAll(async () => {
  await registry?.disconnect();
  await svc?.close();
});

const grouping = (filters: Record<string, unknown>) =>
  svc.app.inject({
    method: "POST",
    url: "/organizations/org-buyer/reservation-candidates",
    headers: svc.auth("usr-buyer"),
    payload: {
      countryCode: "KEN",
      starttime: new Date(Date.now() + HOUR).toISOString(),
      endtime: new Date(Date.now() + 25 * HOUR).toISOString(),
      frequency: "daily",
      ...filters,
    },
  });

const ids = async (filters: Record<string, unknown>) => {
  const res = await grouping(filters);
  expect(res.statusCode).toBe(200);
  return (res.json().candidates as { device: { id: string } }[]).map((c) => c.device.id).sort();
};

describe("device grouping by device type code and off-taker", () => {
  it("offers the devices of every organization of the country, largest first", async () => {
    const res = await grouping({});
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.candidates.map((c: { device: { id: string } }) => c.device.id)).toEqual([
      "dev-a-school",
      "dev-a-clinic",
      "dev-b-school",
      "dev-b-tc120",
      "dev-c-clinic-tc120",
      "dev-c-diesel",
      "dev-a-old-event",
    ]);
    expect(body.organizationIds).toEqual(["org-dev-a", "org-dev-b", "org-dev-c"]);
    expect(body.deviceTypeCodes).toEqual(["TC110", "TC120"]);
    expect(body.offTakers).toEqual(["Health facility", "School"]);
    expect(body.candidates[0].device).toMatchObject({ deviceTypeCode: "TC110", offTaker: "School" });
  });

  it("narrows by device code and by off-taker, alone and together with the fuel code", async () => {
    expect(await ids({ deviceCode: "TC120" })).toEqual(["dev-b-tc120", "dev-c-clinic-tc120"]);
    expect(await ids({ offTaker: "Health facility" })).toEqual(["dev-a-clinic", "dev-c-clinic-tc120"]);
    expect(await ids({ deviceCode: "TC110", offTaker: "School" })).toEqual([
      "dev-a-school",
      "dev-b-school",
      "dev-c-diesel",
    ]);
    expect(await ids({ deviceCode: "TC110", offTaker: "School", fuelCode: "ES100" })).toEqual([
      "dev-a-school",
      "dev-b-school",
    ]);
    expect(await ids({ deviceCode: "TC999" })).toEqual([]);
    // a device whose event did not carry the fields matches no filter on them
    expect(await ids({ deviceCode: "TC110" })).not.toContain("dev-a-old-event");
  });

  it("takes a list of codes (any of them)", async () => {
    expect(await ids({ offTaker: ["Health facility", "Hospital"], deviceCode: ["TC110", "TC120"] })).toEqual([
      "dev-a-clinic",
      "dev-c-clinic-tc120",
    ]);
  });

  it("stops at the target capacity among the filtered devices", async () => {
    const res = await grouping({ offTaker: "School", targetCapacity: 50 });
    expect(res.statusCode).toBe(200);
    // 40 kW, then 20 kW reaches 50 kW: the third school is not taken
    expect(res.json().candidates.map((c: { device: { id: string } }) => c.device.id)).toEqual([
      "dev-a-school",
      "dev-b-school",
    ]);
    expect(res.json().totalCapacityKw).toBe(60);
  });

  it("follows a device.updated that sets the device type code", async () => {
    await registry.publish(
      topics.registryDevice,
      "device.updated",
      device("dev-a-old-event", "org-dev-a", { capacityW: 9_000, deviceTypeCode: "TC130", offTaker: "Farm" }),
    );
    await waitFor("the update projected", async () => (await ids({ deviceCode: "TC130" })).length === 1);
    expect(await ids({ offTaker: "Farm" })).toEqual(["dev-a-old-event"]);
  });

  it.each([
    ["deviceCode", { deviceCode: "" }],
    ["deviceCode", { deviceCode: 110 }],
    ["deviceCode", { deviceCode: [] }],
    ["deviceCode", { deviceCode: Array.from({ length: 51 }, (_, i) => `TC${i}`) }],
    ["offTaker", { offTaker: "   " }],
    ["offTaker", { offTaker: "x".repeat(101) }],
    ["offTaker", { offTaker: [true] }],
  ])("refuses a bad %s with a 400 naming it", async (field, filters) => {
    const res = await grouping(filters);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("validation_failed");
    expect(JSON.stringify(res.json().error)).toContain(field);
  });
});
