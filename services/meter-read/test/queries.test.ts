import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hourly, type MeterRead, seedDevice, startMeterRead } from "./helpers.ts";

// What a developer or buyer sees of a device's reads: pages, energy per period in a time zone, sums, the
// latest read, a CSV of any range.

let mr: MeterRead;
const get = (path: string) =>
  mr.app.inject({
    method: "GET",
    url: `/organizations/org-q/devices/dev-q${path}`,
    headers: mr.auth("usr-v"),
  });

beforeAll(async () => {
  mr = await startMeterRead();
  await seedDevice(mr.db, {
    orgId: "org-q",
    deviceId: "dev-q",
    timezone: "Europe/Stockholm",
    members: { "usr-v": "viewer" },
  });
  // 72 hourly reads from 2026-10-30T22:00Z (Oct 30 23:00 local in Stockholm, after DST ended), i-th = i + 1 Wh.
  const res = await mr.app.inject({
    method: "POST",
    url: "/organizations/org-q/reads",
    headers: mr.auth("root", "root"),
    payload: {
      type: "history",
      unit: "Wh",
      deviceId: "dev-q",
      reads: hourly("2026-10-30T22:00:00Z", 72, (i) => i + 1),
    },
  });
  expect(res.json().stored).toBe(72);
});
afterAll(async () => {
  await mr?.close();
});

const total = (from: number, to: number) => ((from + to) * (to - from + 1)) / 2;

describe("read queries", () => {
  it("pages raw reads oldest first", async () => {
    const first = (await get("/reads?limit=50")).json();
    expect(first.items).toHaveLength(50);
    expect(first.items[0]).toMatchObject({
      end: "2026-10-30T23:00:00.000Z",
      energyWh: 1,
      source: "api",
      version: 1,
    });
    const rest = (await get(`/reads?limit=50&cursor=${first.next}`)).json();
    expect(rest.items).toHaveLength(22);
    expect(rest.next).toBeNull();
  });

  it("sums per day in the site's time zone and per month in another", async () => {
    const days = (await get("/energy?period=day")).json();
    expect(days.timezone).toBe("Europe/Stockholm");
    // Local days: Oct 30 has 1 hour (23:00), Oct 31 has 24, Nov 1 has 24, Nov 2 has 23.
    expect(days.items).toEqual([
      { start: "2026-10-29T23:00:00.000Z", energyWh: 1, reads: 1 },
      { start: "2026-10-30T23:00:00.000Z", energyWh: total(2, 25), reads: 24 },
      { start: "2026-10-31T23:00:00.000Z", energyWh: total(26, 49), reads: 24 },
      { start: "2026-11-01T23:00:00.000Z", energyWh: total(50, 72), reads: 23 },
    ]);
    const months = (await get("/energy?period=month&timezone=UTC")).json();
    expect(months.items).toEqual([
      { start: "2026-10-01T00:00:00.000Z", energyWh: total(1, 26), reads: 26 },
      { start: "2026-11-01T00:00:00.000Z", energyWh: total(27, 72), reads: 46 },
    ]);
    // Weeks, months and years come from the day rollup plus the hours at their edges: the same sums.
    const stockholm = (await get("/energy?period=month")).json();
    expect(stockholm.items).toEqual([
      { start: "2026-09-30T22:00:00.000Z", energyWh: total(1, 25), reads: 25 },
      { start: "2026-10-31T23:00:00.000Z", energyWh: total(26, 72), reads: 47 },
    ]);
    expect((await get("/energy?period=week")).json().items).toEqual([
      { start: "2026-10-25T23:00:00.000Z", energyWh: total(1, 49), reads: 49 },
      { start: "2026-11-01T23:00:00.000Z", energyWh: total(50, 72), reads: 23 },
    ]);
    expect((await get("/energy?period=year&from=2026-10-31T00:00:00Z")).json().items).toEqual([
      { start: "2025-12-31T23:00:00.000Z", energyWh: total(3, 72), reads: 70 },
    ]);
    expect((await get("/energy?period=fortnight")).statusCode).toBe(400);
    expect((await get("/energy?period=day&timezone=Mars/Olympus")).json().error.details.field).toBe(
      "timezone",
    );
  });

  it("sums any window and lists the reads crossing its edges apart", async () => {
    const sum = (await get("/energy/sum?from=2026-10-31T00:30:00Z&to=2026-10-31T03:00:00Z")).json();
    expect(sum).toMatchObject({ energyWh: 4 + 5, reads: 2 });
    expect(sum.partial.map((r: { end: string }) => r.end)).toEqual(["2026-10-31T01:00:00.000Z"]);
    expect((await get("/energy/sum")).json()).toMatchObject({ energyWh: total(1, 72), reads: 72 });
  });

  it("answers the latest read and exports any range as CSV", async () => {
    expect((await get("/reads/latest")).json().read).toMatchObject({
      end: "2026-11-02T22:00:00.000Z",
      energyWh: 72,
    });
    const csv = await get("/reads/export?from=2026-10-31T00:00:00Z&to=2026-10-31T03:00:00Z");
    expect(csv.headers["content-type"]).toContain("text/csv");
    const lines = csv.body.trim().split("\n");
    expect(lines[0]).toMatch(/^read_id,version,read_type,source,start,end,value_wh,energy_wh/);
    expect(lines.slice(1).map((l) => l.split(",")[5])).toEqual([
      "2026-10-31T00:00:00.000Z",
      "2026-10-31T01:00:00.000Z",
      "2026-10-31T02:00:00.000Z",
    ]);
  });
});
