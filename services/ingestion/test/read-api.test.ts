import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepLiveness } from "../src/liveness/sweep.ts";
import { applyReadings } from "../src/store/apply-readings.ts";
import { accepted } from "./accepted.ts";
import { type Ingestion, seedSite, startIngestion } from "./helpers.ts";

const ALICE = "usr-alice"; // viewer in org-a
const BOB = "usr-bob"; // viewer in org-b
const MIN = 60_000;
const now = Date.now();

const ny = { orgId: "org-a", siteId: "site-ny", gatewayId: "gw-a" };
const pv = { ...ny, deviceId: "dev-inv", derId: "der-pv" };
const meter = { ...ny, deviceId: "dev-inv", derId: "der-meter" };
const pv2 = { ...ny, deviceId: "dev-inv2", derId: "der-pv2" };
const quiet = { ...ny, deviceId: "dev-quiet", derId: "der-quiet" };
const roof = { ...ny, deviceId: "dev-roof", derId: "der-roof" };
const other = { orgId: "org-b", siteId: "site-b", deviceId: "dev-b", derId: "der-b", gatewayId: "gw-b" };

let ing: Ingestion;

const get = (url: string, who: string | null = ALICE) =>
  ing.app.inject({ method: "GET", url, headers: who ? ing.auth(who, "user") : {} });

beforeAll(async () => {
  ing = await startIngestion();
  await seedSite(ing.db, {
    ...pv,
    ders: { "der-pv": "solar", "der-meter": "meter" },
    timezone: "America/New_York",
    members: [ALICE],
  });
  await seedSite(ing.db, { ...pv2, ders: { "der-pv2": "solar" } });
  await seedSite(ing.db, { ...quiet, deviceType: "energy_meter", ders: { "der-quiet": "meter" } });
  await seedSite(ing.db, { ...roof, ders: { "der-roof": "solar" } });
  await seedSite(ing.db, { ...other, ders: { "der-b": "solar" }, members: [BOB] });
});
afterAll(async () => {
  await ing?.close();
});

describe("authentication and organizations", () => {
  const urls = [
    "/organizations/org-a/sites/site-ny/twin",
    "/organizations/org-a/devices/dev-inv/twin",
    "/organizations/org-a/ders/der-pv/intervals",
    "/organizations/org-a/sites/site-ny/energy",
    "/organizations/org-a/devices/offline",
  ];

  it.each(urls)("GET %s needs a token (401)", async (url) => {
    expect((await get(url, null)).statusCode).toBe(401);
  });

  it.each(urls)("GET %s is a 404 to another organization's member", async (url) => {
    const res = await get(url, BOB);
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toBe("organization not found");
  });

  it.each([
    ["/organizations/org-a/sites/site-b/twin", "site not found"],
    ["/organizations/org-a/devices/dev-b/twin", "device not found"],
    ["/organizations/org-a/ders/der-b/intervals", "DER not found"],
    ["/organizations/org-a/sites/site-b/energy", "site not found"],
  ])("%s: another organization's resource in my organization is a 404 naming it", async (url, message) => {
    const res = await get(url);
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({ code: "not_found", message });
  });

  it("documents the read APIs", async () => {
    const paths = Object.keys((await ing.app.inject({ url: "/openapi.json" })).json().paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        "/organizations/{orgId}/sites/{siteId}/twin",
        "/organizations/{orgId}/devices/{deviceId}/twin",
        "/organizations/{orgId}/ders/{derId}/intervals",
        "/organizations/{orgId}/sites/{siteId}/energy",
        "/organizations/{orgId}/devices/offline",
      ]),
    );
  });
});

describe("digital twin", () => {
  const t1 = now - 20 * MIN;
  const t2 = now - 10 * MIN;

  beforeAll(async () => {
    await applyReadings(ing.db, [
      accepted(pv, t2, { type: "pv", W: -2000, mppt1_V: 300.5, total_generation_Wh: 5000 }, t2 + 2000),
    ]);
    // an older reading arrives late: it fills in what it alone read, and overwrites nothing newer
    await applyReadings(ing.db, [
      accepted(pv, t1, { type: "pv", W: -1500, mppt1_V: 280, heatsink_C: 31.5 }, now - MIN),
    ]);
  });

  it("shows a device's DERs with the latest value of every field and when it was read, and the device's liveness", async () => {
    const res = await get("/organizations/org-a/devices/dev-inv/twin");
    expect(res.statusCode, res.body).toBe(200);
    const at = (ms: number) => new Date(ms).toISOString();
    expect(res.json()).toEqual({
      deviceId: "dev-inv",
      siteId: "site-ny",
      name: "dev-inv",
      type: "inverter",
      liveness: { state: "active", lastSeenAt: at(now - MIN), changedAt: expect.any(String) },
      ders: [
        {
          derId: "der-meter",
          derType: "meter",
          name: "der-meter",
          readingType: null,
          lastReadingAt: null,
          lastReceivedAt: null,
          fields: {},
        },
        {
          derId: "der-pv",
          derType: "solar",
          name: "der-pv",
          readingType: "pv",
          lastReadingAt: at(t2),
          lastReceivedAt: at(now - MIN),
          fields: {
            W: { value: -2000, at: at(t2) },
            mppt1_V: { value: 300.5, at: at(t2) },
            total_generation_Wh: { value: 5000, at: at(t2) },
            heatsink_C: { value: 31.5, at: at(t1) },
          },
        },
      ],
    });
  });

  it("shows every device of a site, one never heard from as unknown", async () => {
    const res = await get("/organizations/org-a/sites/site-ny/twin");
    expect(res.statusCode, res.body).toBe(200);
    const site = res.json();
    expect(site).toMatchObject({ siteId: "site-ny", timezone: "America/New_York" });
    expect(site.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual([
      "dev-inv",
      "dev-inv2",
      "dev-quiet",
      "dev-roof",
    ]);
    const inv = site.devices[0];
    expect(inv.ders.find((d: { derId: string }) => d.derId === "der-pv").fields.W).toEqual({
      value: -2000,
      at: new Date(t2).toISOString(),
    });
    expect(site.devices[2]).toMatchObject({
      deviceId: "dev-quiet",
      type: "energy_meter",
      liveness: { state: "unknown", lastSeenAt: null, changedAt: null },
      ders: [{ derId: "der-quiet", derType: "meter", readingType: null, fields: {} }],
    });
  });
});

describe("half-hourly intervals", () => {
  const at = (hhmm: string) => `2026-11-20T${hhmm}:00.000Z`;
  const url = (query: string) => `/organizations/org-a/ders/der-meter/intervals?${query}`;
  const window = `from=${at("10:00")}&to=${at("12:00")}`;

  beforeAll(async () => {
    await applyReadings(ing.db, [
      accepted(meter, at("10:00"), { type: "meter", total_import_Wh: 1000, total_export_Wh: 0 }),
      accepted(meter, at("10:30"), { type: "meter", total_import_Wh: 1500, total_export_Wh: 0 }),
      accepted(meter, at("11:15"), { type: "meter", total_import_Wh: 2400, total_export_Wh: 30 }),
    ]);
  });

  it("lists a DER's half-hours with their energy, readings and whether they are complete", async () => {
    const res = await get(url(window));
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ derId: "der-meter", derType: "meter", from: at("10:00"), to: at("12:00") });
    expect(body.intervals).toEqual([
      {
        intervalStart: at("10:00"),
        intervalEnd: at("10:30"),
        generationWh: null,
        importWh: 500,
        exportWh: 0,
        chargeWh: null,
        dischargeWh: null,
        readingCount: 1,
        complete: true,
        corrections: 0,
      },
      {
        intervalStart: at("10:30"),
        intervalEnd: at("11:00"),
        generationWh: null,
        importWh: 600,
        exportWh: 20,
        chargeWh: null,
        dischargeWh: null,
        readingCount: 1,
        complete: true,
        corrections: 0,
      },
      {
        intervalStart: at("11:00"),
        intervalEnd: at("11:30"),
        generationWh: null,
        importWh: 300,
        exportWh: 10,
        chargeWh: null,
        dischargeWh: null,
        readingCount: 1,
        complete: false,
        corrections: 0,
      },
    ]);
  });

  it("shows a late reading's correction of a complete half-hour, to the mWh", async () => {
    await applyReadings(ing.db, [accepted(meter, at("10:40"), { type: "meter", total_import_Wh: 1700 })]);
    const intervals = (await get(url(window))).json().intervals;
    // 10:30–10:40 brings 200 Wh; 10:40–11:15 brings 700 Wh, 20 of its 35 minutes in 10:30–11:00
    expect(intervals[1]).toMatchObject({
      intervalStart: at("10:30"),
      importWh: 600,
      readingCount: 2,
      complete: true,
      corrections: 1,
    });
    expect(intervals[1].importWh).toBe(Math.round((200 + (700 * 20) / 35) * 1000) / 1000);
    expect(intervals[2]).toMatchObject({
      importWh: Math.round(((700 * 15) / 35) * 1000) / 1000,
      corrections: 0,
    });
    // a window that starts inside a half-hour includes it
    const from1045 = (await get(url(`from=${at("10:45")}&to=${at("11:00")}`))).json().intervals;
    expect(from1045.map((i: { intervalStart: string }) => i.intervalStart)).toEqual([at("10:30")]);
  });

  it("defaults to the last 24 hours", async () => {
    const res = await get(url(""));
    expect(res.statusCode).toBe(200);
    expect(Date.parse(res.json().to) - Date.parse(res.json().from)).toBe(24 * 60 * MIN);
    expect(res.json().intervals).toEqual([]);
  });

  it.each([
    ["from=yesterday", "querystring.from"],
    [`from=${at("12:00")}&to=${at("10:00")}`, "to"],
    [`from=${at("10:00")}&to=${at("10:00")}`, "to"],
    [`from=2026-10-01T00:00:00Z&to=2026-11-02T00:00:00Z`, "to"],
    [`to=not-a-time`, "querystring.to"],
  ])("refuses %s with a 400 naming %s", async (query, field) => {
    const res = await get(url(query));
    expect(res.statusCode, res.body).toBe(400);
    const { error } = res.json();
    expect(error.fields?.[0]?.path ?? error.details?.field).toBe(field);
  });
});

describe("site energy by day and month", () => {
  // New York is UTC-5 in January: its 2026-01-10 runs from 05:00 UTC on the 10th to 05:00 UTC on the 11th.
  beforeAll(async () => {
    await applyReadings(ing.db, [
      accepted(roof, "2026-01-11T03:00:00Z", { type: "pv", total_generation_Wh: 10_000 }), // 22:00 local on the 10th
      accepted(roof, "2026-01-11T04:00:00Z", { type: "pv", total_generation_Wh: 11_000 }), // 23:00 local
      accepted(roof, "2026-01-11T06:00:00Z", { type: "pv", total_generation_Wh: 13_000 }), // 01:00 local on the 11th
      accepted(pv2, "2026-01-10T17:00:00Z", { type: "pv", total_generation_Wh: 0 }), // noon local
      accepted(pv2, "2026-01-10T18:00:00Z", { type: "pv", total_generation_Wh: 500 }),
    ]);
  });

  it("sums a DER's energy into the site's local days: a pair across local midnight is split between them", async () => {
    const res = await get(
      "/organizations/org-a/sites/site-ny/energy?granularity=day&from=2026-01-10&to=2026-01-11",
    );
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      siteId: "site-ny",
      timezone: "America/New_York",
      granularity: "day",
      from: "2026-01-10",
      to: "2026-01-11",
    });
    const periods = (derId: string) => body.ders.find((d: { derId: string }) => d.derId === derId).periods;
    expect(periods("der-roof")).toEqual([
      expect.objectContaining({
        period: "2026-01-10",
        start: "2026-01-10T05:00:00.000Z",
        end: "2026-01-11T05:00:00.000Z",
        generationWh: 2000,
        readingCount: 2,
      }),
      expect.objectContaining({
        period: "2026-01-11",
        start: "2026-01-11T05:00:00.000Z",
        end: "2026-01-12T05:00:00.000Z",
        generationWh: 1000,
        readingCount: 1,
      }),
    ]);
    expect(periods("der-pv2")).toEqual([
      expect.objectContaining({ period: "2026-01-10", generationWh: 500 }),
    ]);
    expect(periods("der-pv")).toEqual([]);
    expect(body.ders.map((d: { derId: string }) => d.derId)).toEqual([
      "der-meter",
      "der-pv",
      "der-pv2",
      "der-quiet",
      "der-roof",
    ]);
    expect(body.totals).toEqual([
      {
        derType: "solar",
        periods: [
          expect.objectContaining({
            period: "2026-01-10",
            generationWh: 2500,
            importWh: null,
            readingCount: 4,
          }),
          expect.objectContaining({ period: "2026-01-11", generationWh: 1000, readingCount: 1 }),
        ],
      },
    ]);
  });

  it("sums by local month", async () => {
    const res = await get(
      "/organizations/org-a/sites/site-ny/energy?granularity=month&from=2026-01-05&to=2026-01-20",
    );
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ from: "2026-01-01", to: "2026-01-31" });
    expect(body.totals).toEqual([
      {
        derType: "solar",
        periods: [
          expect.objectContaining({
            period: "2026-01",
            start: "2026-01-01T05:00:00.000Z",
            end: "2026-02-01T05:00:00.000Z",
            generationWh: 3500,
          }),
        ],
      },
    ]);
  });

  it.each([
    ["granularity=week", "querystring.granularity"],
    ["from=2026-02-30", "querystring.from"],
    ["from=2026-01-11&to=2026-01-10", "to"],
    ["from=2024-01-01&to=2026-01-10", "to"],
  ])("refuses %s with a 400 naming %s", async (query, field) => {
    const res = await get(`/organizations/org-a/sites/site-ny/energy?${query}`);
    expect(res.statusCode, res.body).toBe(400);
    const { error } = res.json();
    expect(error.fields?.[0]?.path ?? error.details?.field).toBe(field);
  });
});

describe("devices offline recently", () => {
  beforeAll(async () => {
    // dev-quiet was last heard from three hours ago; dev-b (org-b) too
    await applyReadings(ing.db, [
      accepted(quiet, now - 180 * MIN, { type: "meter", W: 10 }, now - 180 * MIN),
      accepted(other, now - 180 * MIN, { type: "pv", W: -10 }, now - 180 * MIN),
    ]);
    await sweepLiveness(ing.db, { now: new Date(now), staleAfterMs: 5 * MIN, disconnectedAfterMs: 60 * MIN });
    // dev-inv2 went quiet a week ago
    await ing.db.deviceLiveness.update({
      where: { deviceId: "dev-inv2" },
      data: {
        state: "stale",
        lastSeenAt: new Date(now - 8 * 1440 * MIN),
        changedAt: new Date(now - 7 * 1440 * MIN),
      },
    });
  });

  it("lists the organization's devices that went stale or disconnected within the last 24 hours by default", async () => {
    const res = await get("/organizations/org-a/devices/offline");
    expect(res.statusCode, res.body).toBe(200);
    // dev-roof last reported in January (the energy tests); dev-inv, heard from a minute ago, is not offline
    expect(res.json().items.map((d: { deviceId: string }) => d.deviceId)).toEqual(["dev-quiet", "dev-roof"]);
    expect(res.json().items[0]).toEqual({
      deviceId: "dev-quiet",
      siteId: "site-ny",
      name: "dev-quiet",
      type: "energy_meter",
      state: "disconnected",
      lastSeenAt: new Date(now - 180 * MIN).toISOString(),
      changedAt: new Date(now).toISOString(),
    });
    const twin = (await get("/organizations/org-a/devices/dev-quiet/twin")).json();
    expect(twin.liveness).toEqual({
      state: "disconnected",
      lastSeenAt: new Date(now - 180 * MIN).toISOString(),
      changedAt: new Date(now).toISOString(),
    });
  });

  it("looks further back when asked", async () => {
    const res = await get("/organizations/org-a/devices/offline?within=8d");
    expect(
      res.json().items.map((d: { deviceId: string; state: string }) => `${d.deviceId} ${d.state}`),
    ).toEqual(["dev-quiet disconnected", "dev-roof disconnected", "dev-inv2 stale"]);
    expect((await get("/organizations/org-a/devices/offline?within=30m")).json().items).toHaveLength(2);
    expect(
      (await get("/organizations/org-b/devices/offline", BOB))
        .json()
        .items.map((d: { deviceId: string }) => d.deviceId),
    ).toEqual(["dev-b"]);
  });

  it.each([
    ["within=yesterday", "querystring.within"],
    ["within=0h", "within"],
    ["within=100d", "within"],
  ])("refuses %s with a 400 naming %s", async (query, field) => {
    const res = await get(`/organizations/org-a/devices/offline?${query}`);
    expect(res.statusCode, res.body).toBe(400);
    const { error } = res.json();
    expect(error.fields?.[0]?.path ?? error.details?.field).toBe(field);
  });
});
