import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hourly, type MeterRead, seedDevice, startMeterRead } from "./helpers.ts";

// A device gets its reads from one source at a time: what an owner notices switching it (the reads of the
// new source accepted from the switch on, the old refused and kept), and who may switch.

let mr: MeterRead;
const ORG = "org-s";
const url = (deviceId = "dev-s") => `/organizations/${ORG}/devices/${deviceId}/read-source`;
const put = (payload: object, who = "usr-owner", deviceId = "dev-s") =>
  mr.app.inject({ method: "PUT", url: url(deviceId), headers: mr.auth(who), payload });
const post = (reads: object[], deviceId = "dev-s") =>
  mr.app.inject({
    method: "POST",
    url: `/organizations/${ORG}/reads`,
    headers: mr.auth("usr-owner"),
    payload: { type: "history", unit: "Wh", deviceId, reads },
  });

beforeAll(async () => {
  mr = await startMeterRead();
  const members = {
    "usr-owner": "owner",
    "usr-admin": "admin",
    "usr-op": "operator",
    "usr-viewer": "viewer",
  } as const;
  await seedDevice(mr.db, { orgId: ORG, deviceId: "dev-s", members });
  await seedDevice(mr.db, { orgId: ORG, deviceId: "dev-new" });
  await seedDevice(mr.db, { orgId: "org-other", deviceId: "dev-o", members: { "usr-stranger": "owner" } });
  const first = await post(hourly("2026-10-01T00:00:00Z", 24, () => 100));
  expect(first.json().stored).toBe(24);
});
afterAll(async () => {
  await mr?.close();
});

describe("PUT …/devices/:deviceId/read-source", () => {
  it("refuses a switch reaching into the period of a stored read, naming its end", async () => {
    const res = await put({ source: "telemetry", from: "2026-10-01T12:00:00Z" });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: "switch_before_stored_read" });
    expect(res.json().error.message).toContain("2026-10-02T00:00:00.000Z");
  });

  it("refuses switching to the source already in force", async () => {
    const res = await put({ source: "api", from: "2026-10-03T00:00:00Z" });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe("source_unchanged");
  });

  it("lets operators and viewers see the source but not switch it; another organization's device is not found", async () => {
    expect((await put({ source: "telemetry", from: "2026-10-03T00:00:00Z" }, "usr-op")).statusCode).toBe(403);
    expect((await put({ source: "telemetry", from: "2026-10-03T00:00:00Z" }, "usr-viewer")).statusCode).toBe(
      403,
    );
    const seen = await mr.app.inject({ method: "GET", url: url(), headers: mr.auth("usr-viewer") });
    expect(seen.statusCode).toBe(200);
    expect(seen.json()).toMatchObject({ deviceId: "dev-s", initialSource: "api", switches: [] });
    const other = await mr.app.inject({
      method: "PUT",
      url: `/organizations/${ORG}/devices/dev-o/read-source`,
      headers: mr.auth("usr-owner"),
      payload: { source: "telemetry" },
    });
    expect(other.statusCode).toBe(404);
  });

  it("names a malformed source or time", async () => {
    const badSource = await put({ source: "modbus" });
    expect(badSource.statusCode).toBe(400);
    expect(JSON.stringify(badSource.json())).toContain("source");
    const badTime = await put({ source: "telemetry", from: "yesterday" });
    expect(badTime.statusCode).toBe(400);
    expect(JSON.stringify(badTime.json())).toContain("from");
  });

  it("switches from the end of the latest read on: the API's later reads refused and kept, its earlier ones still taken", async () => {
    const res = await put({ source: "telemetry", from: "2026-10-02T00:00:00Z" }, "usr-admin");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      changed: true,
      initialSource: "api",
      switches: [{ source: "telemetry", from: "2026-10-02T00:00:00.000Z", switchedBy: "usr-admin" }],
    });
    const again = await put({ source: "telemetry", from: "2026-10-02T00:00:00Z" }, "usr-admin");
    expect(again.json()).toMatchObject({ changed: false, switches: [{ source: "telemetry" }] });

    const after = await post([
      { starttimestamp: "2026-10-02T00:00:00Z", endtimestamp: "2026-10-02T01:00:00Z", value: 100 },
      { starttimestamp: "2026-09-30T23:00:00Z", endtimestamp: "2026-10-01T00:00:00Z", value: 100 },
      { starttimestamp: "2026-10-01T00:00:00Z", endtimestamp: "2026-10-01T01:00:00Z", value: 100 },
    ]);
    const results = after.json().results;
    expect(results.map((r: { status: string }) => r.status)).toEqual(["refused", "stored", "stored"]);
    expect(results[0].reasons[0]).toMatchObject({ index: 0, field: "source", code: "source_mismatch" });
    expect(results[2].duplicate).toBe(true);
    const refused = await mr.app.inject({
      method: "GET",
      url: `/organizations/${ORG}/devices/dev-s/refused-reads`,
      headers: mr.auth("usr-viewer"),
    });
    expect(JSON.stringify(refused.json().items[0].reasons)).toContain("source_mismatch");
  });

  it("switches back to the API only after the last switch", async () => {
    const early = await put({ source: "api", from: "2026-10-02T00:00:00Z" });
    expect(early.json().error.code).toBe("switch_not_after_last_switch");
    const res = await put({ source: "api", from: "2026-10-05T00:00:00Z" });
    expect(res.statusCode).toBe(200);
    const later = await post([
      { starttimestamp: "2026-10-05T00:00:00Z", endtimestamp: "2026-10-05T01:00:00Z", value: 100 },
      { starttimestamp: "2026-10-04T23:30:00Z", endtimestamp: "2026-10-05T00:30:00Z", value: 100 },
    ]);
    expect(later.json().results.map((r: { status: string }) => r.status)).toEqual(["stored", "refused"]);
  });

  it("sets the source of a device without reads; its first reads before the switch decide the earlier one", async () => {
    const res = await put({ source: "telemetry", from: "2026-10-10T00:00:00Z" }, "usr-owner", "dev-new");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ initialSource: null, switches: [{ source: "telemetry" }] });
    const reads = await post(
      [
        { starttimestamp: "2026-10-09T00:00:00Z", endtimestamp: "2026-10-09T01:00:00Z", value: 100 },
        { starttimestamp: "2026-10-10T00:00:00Z", endtimestamp: "2026-10-10T01:00:00Z", value: 100 },
      ],
      "dev-new",
    );
    expect(reads.json().results.map((r: { status: string }) => r.status)).toEqual(["stored", "refused"]);
    const seen = await mr.app.inject({ method: "GET", url: url("dev-new"), headers: mr.auth("usr-owner") });
    expect(seen.json().initialSource).toBe("api");
  });
});
