import { describe, expect, it } from "vitest";
import {
  type IssuanceRequest,
  IssuanceRequestSchema,
  type IssuanceWindowsRequested,
  IssuanceWindowsRequestedSchema,
  issuanceRequestsOf,
  type Reservation,
  ReservationEndedSchema,
  ReservationSchema,
  type ReservedDevice,
  windowsRequestedOf,
} from "../src/index.ts";

const device: ReservedDevice = {
  deviceId: "dev-solar-1",
  orgId: "org-developer",
  siteId: "sit-roof",
  name: "Roof PV",
  externalId: null,
  countryCode: "IND",
  fuelCode: "ES100",
  deviceTypeCode: "TC100",
  type: "inverter",
  capacityW: 80_000,
  commissioningDate: "2021-04-01",
  gridInterconnection: true,
  offTaker: null,
  address: null,
  latitude: null,
  longitude: null,
};

const read = (readId: string, energyWh: number, start: string, end: string) => ({
  readId,
  version: 1,
  contentHash: "a".repeat(64),
  start,
  end,
  energyWh,
  late: false,
});

const request: IssuanceRequest = {
  idempotencyKey: "res-1:2022-10-04T14:00:00.000Z:v1",
  requestId: "5b1f0c8e-6a43-4e55-9a0e-0a4c1b2d3e4f",
  reservationId: "res-1",
  version: 1,
  buyerOrgId: "org-buyer",
  buyerOrganization: {
    orgId: "org-buyer",
    name: "Hyd121",
    blockchainAccountAddress: "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F",
  },
  buyerAddress: "0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F",
  frequency: "hourly",
  timezone: "UTC",
  window: { start: "2022-10-04T14:00:00.000Z", end: "2022-10-04T15:00:00.000Z" },
  energyWh: 3_000,
  carriedOverWh: 0,
  late: false,
  capped: false,
  contributions: [
    {
      ...device,
      energyWh: 3_000,
      reads: [
        read("mrd-1", 1_000, "2022-10-04T14:00:00.000Z", "2022-10-04T14:30:00.000Z"),
        read("mrd-2", 2_000, "2022-10-04T14:30:00.000Z", "2022-10-04T15:00:00.000Z"),
      ],
    },
  ],
  reservation: {
    name: "Netflix 2022",
    start: "2022-10-04T14:00:00.223Z",
    end: "2022-10-04T16:00:00.223Z",
    targetVolumeWh: 100_000_000,
    authorityToExceed: false,
    requestedWh: 0,
    succeededWh: 0,
    failedWh: 0,
  },
  requestedAt: "2022-10-04T15:00:01.000Z",
};

describe("reservation.issuance-request.v1", () => {
  it("accepts a request whose energy is the sum of its contributions", () => {
    expect(IssuanceRequestSchema.parse(request)).toEqual(request);
  });

  it.each([
    ["energy that is not the contributions' sum", { energyWh: 2_999 }, "energyWh"],
    ["a fractional Wh", { energyWh: 2_999.5 }, "energyWh"],
    ["no contributions", { contributions: [] }, "contributions"],
    ["a request id that is not a uuid", { requestId: "res-1:v1" }, "requestId"],
    ["a malformed buyer address", { buyerAddress: "0x410CB6672F" }, "buyerAddress"],
    [
      "a window that ends before it starts",
      { window: { start: "2022-10-04T15:00:00.000Z", end: "2022-10-04T14:00:00.000Z" } },
      "window",
    ],
  ])("refuses %s", (_what, change, field) => {
    const parsed = IssuanceRequestSchema.safeParse({ ...request, ...change });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path[0])).toContain(field);
  });
});

describe("reservation.issuance-request.v1 issuance.windows-requested", () => {
  const { contributions, reservation, ...rest } = request;
  const windowOf = (r: IssuanceRequest) => ({
    idempotencyKey: r.idempotencyKey,
    requestId: r.requestId,
    version: r.version,
    window: r.window,
    energyWh: r.energyWh,
    carriedOverWh: r.carriedOverWh,
    late: r.late,
    capped: r.capped,
    contributions: r.contributions.map((c) => ({
      deviceId: c.deviceId,
      energyWh: c.energyWh,
      reads: c.reads,
    })),
  });
  const second: IssuanceRequest = {
    ...request,
    idempotencyKey: "res-1:2022-10-04T15:00:00.000Z:v1",
    requestId: "0d2b6c1a-4f3e-4a5b-8c7d-6e5f4a3b2c1d",
    window: { start: "2022-10-04T15:00:00.000Z", end: "2022-10-04T16:00:00.000Z" },
    energyWh: 500,
    contributions: [
      {
        ...device,
        energyWh: 500,
        reads: [read("mrd-3", 500, "2022-10-04T15:00:00.000Z", "2022-10-04T16:00:00.000Z")],
      },
    ],
    reservation: { ...reservation, requestedWh: 3_000 },
  };
  const batch: IssuanceWindowsRequested = {
    reservationId: rest.reservationId,
    buyerOrgId: rest.buyerOrgId,
    buyerOrganization: rest.buyerOrganization,
    buyerAddress: rest.buyerAddress,
    frequency: rest.frequency,
    timezone: rest.timezone,
    reservation,
    devices: [device],
    windows: [windowOf(request), windowOf(second)],
    requestedAt: rest.requestedAt,
  };

  it("carries many windows' requests, each as issuance.requested says it, counters in order", () => {
    expect(IssuanceWindowsRequestedSchema.parse(batch)).toEqual(batch);
    const requests = issuanceRequestsOf(batch);
    expect(requests).toEqual([request, second]);
    for (const r of requests) expect(IssuanceRequestSchema.parse(r)).toEqual(r);
    expect(contributions).toHaveLength(1);
    expect(windowsRequestedOf(requests)).toEqual(batch);
  });

  it.each([
    ["no windows", { windows: [] }, "windows"],
    ["a contributing device it does not hold", { devices: [] }, "devices"],
    [
      "a window whose energy is not its contributions' sum",
      { windows: [{ ...windowOf(request), energyWh: 2_999 }] },
      "windows",
    ],
  ])("refuses %s", (_what, change, field) => {
    const parsed = IssuanceWindowsRequestedSchema.safeParse({ ...batch, ...change });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path[0])).toContain(field);
  });
});

describe("reservation.reservation.v1", () => {
  const snapshot: Reservation = {
    reservationId: "res-1",
    name: "Netflix 2022",
    buyerOrgId: "org-buyer",
    buyerOrganization: request.buyerOrganization,
    buyerAddress: request.buyerAddress,
    deviceIds: ["dev-solar-1"],
    devices: [device],
    deviceOrgIds: ["org-developer"],
    start: "2022-10-04T14:00:00.000Z",
    end: "2022-10-05T14:00:00.000Z",
    frequency: "hourly",
    timezone: "UTC",
    targetVolumeWh: null,
    authorityToExceed: false,
    status: "active",
  };
  const released = [{ deviceId: "dev-wind-2", availableAgainAt: "2022-10-05T02:00:00.000Z" }];
  const ended = {
    reservationId: "res-1",
    buyerOrgId: "org-buyer",
    reason: "cancelled" as const,
    endedAt: "2022-10-04T20:00:00.000Z",
    deviceIds: ["dev-solar-1"],
    availableAgainAt: "2022-10-05T08:00:00.000Z",
  };

  it("carries, per released device, the end of its cool-down on updates and ends", () => {
    expect(ReservationSchema.parse({ ...snapshot, releasedDevices: released }).releasedDevices).toEqual(
      released,
    );
    const withDevices = {
      ...ended,
      releasedDevices: [{ deviceId: "dev-solar-1", availableAgainAt: ended.availableAgainAt }],
    };
    expect(ReservationEndedSchema.parse(withDevices)).toEqual(withDevices);
    expect(
      ReservationSchema.safeParse({
        ...snapshot,
        releasedDevices: [{ deviceId: "dev-wind-2", availableAgainAt: "soon" }],
      }).success,
    ).toBe(false);
  });

  it("still decodes events published before releasedDevices existed", () => {
    expect(ReservationSchema.parse(snapshot)).toEqual(snapshot);
    expect(ReservationSchema.parse(snapshot).releasedDevices).toBeUndefined();
    expect(ReservationEndedSchema.parse(ended)).toEqual(ended);
  });
});
