import { topics } from "@energy/contracts";
import { readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hourly, type MeterRead, seedDevice, startMeterRead } from "./helpers.ts";

// What a developer notices submitting reads: per-read outcomes, units, idempotency, conflicts, refused reads
// kept, who may write, malformed input named; and what reservation notices: the counted reads published.

let mr: MeterRead;
const ORG = "org-a";
const owner = () => mr.auth("usr-owner");
const post = (body: unknown, headers = owner(), org = ORG) =>
  mr.app.inject({ method: "POST", url: `/organizations/${org}/reads`, headers, payload: body as object });

beforeAll(async () => {
  mr = await startMeterRead();
  const members = { "usr-owner": "owner", "usr-op": "operator", "usr-viewer": "viewer" } as const;
  await seedDevice(mr.db, { orgId: ORG, deviceId: "dev-h", externalId: "DREC01", members });
  await seedDevice(mr.db, { orgId: ORG, deviceId: "dev-d" });
  await seedDevice(mr.db, { orgId: ORG, deviceId: "dev-g" });
  await seedDevice(mr.db, { orgId: ORG, deviceId: "dev-q" });
  await seedDevice(mr.db, { orgId: "org-b", deviceId: "dev-b", members: { "usr-other": "owner" } });
});
afterAll(async () => {
  await mr?.close();
});

describe("POST /organizations/:orgId/reads", () => {
  it("stores history reads in whole Wh, answers each read, and publishes the counted ones", async () => {
    const res = await post({
      type: "history",
      unit: "kWh",
      deviceId: "dev-h",
      reads: [
        { starttimestamp: "2026-11-01T00:00:00Z", endtimestamp: "2026-11-02T00:00:00Z", value: 30.5 },
        { starttimestamp: "2026-11-02T00:00:00Z", endtimestamp: "2026-11-03T00:00:00Z", value: 0.0005 },
        { starttimestamp: "2026-11-03T00:00:00Z", endtimestamp: "2026-11-04T00:00:00Z", value: -1 },
      ],
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    const body = res.json();
    expect(body).toMatchObject({ stored: 1, duplicates: 0, refused: 2 });
    expect(body.results[0]).toMatchObject({
      index: 0,
      deviceId: "dev-h",
      status: "stored",
      energyWh: 30_500,
    });
    expect(body.results[1].reasons[0]).toMatchObject({ index: 1, field: "value", code: "not_whole_wh" });
    expect(body.results[2].reasons[0]).toMatchObject({ index: 2, field: "value", code: "negative_value" });

    const [message] = await readTopic(mr.kafka, `${mr.testKafka.topicPrefix}${topics.meterReadRead.name}`, {
      count: 1,
    });
    expect(message!.key).toBe("dev-h");
    expect(JSON.parse(message!.headers.envelope!).type).toBe("reads.recorded");
    const payload = JSON.parse(message!.value!);
    expect(payload.reads).toHaveLength(1);
    expect(payload.reads[0]).toMatchObject({
      start: "2026-11-01T00:00:00.000Z",
      end: "2026-11-02T00:00:00.000Z",
      energyWh: 30_500,
      source: "api",
      eligible: true,
    });
    expect(payload.reads[0].contentHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("answers a re-sent batch as before and stores nothing twice; another value is a conflict", async () => {
    const batch = {
      type: "history",
      unit: "Wh",
      externalId: "DREC01",
      reads: [
        { starttimestamp: "2026-11-05T00:00:00Z", endtimestamp: "2026-11-06T00:00:00Z", value: 20_000 },
      ],
    };
    const first = (await post(batch)).json();
    const again = (await post(batch)).json();
    expect(first.results[0]).toMatchObject({ status: "stored", duplicate: false });
    expect(again.results[0]).toMatchObject({
      status: "stored",
      duplicate: true,
      readId: first.results[0].readId,
    });
    expect(again).toMatchObject({ stored: 0, duplicates: 1 });
    const changed = (await post({ ...batch, reads: [{ ...batch.reads[0], value: 20_001 }] })).json();
    expect(changed.results[0]).toMatchObject({
      status: "refused",
      reasons: [{ code: "conflict", field: "value" }],
    });
    expect(
      await mr.db.meterRead.count({ where: { deviceId: "dev-h", endAt: new Date("2026-11-06T00:00:00Z") } }),
    ).toBe(1);
  });

  it("stores an old tenure with a warning, not eligible, and refuses overlaps, the future and the impossible", async () => {
    const res = await post({
      type: "history",
      unit: "Wh",
      deviceId: "dev-h",
      reads: [
        { starttimestamp: "2023-01-01T00:00:00Z", endtimestamp: "2023-01-02T00:00:00Z", value: 1000 },
        { starttimestamp: "2026-11-01T12:00:00Z", endtimestamp: "2026-11-01T13:00:00Z", value: 1 },
        { starttimestamp: "2099-01-01T00:00:00Z", endtimestamp: "2099-01-02T00:00:00Z", value: 1 },
        { starttimestamp: "2026-11-10T00:00:00Z", endtimestamp: "2026-11-10T01:00:00Z", value: 11_000 },
      ],
    });
    const results = res.json().results;
    expect(results[0]).toMatchObject({
      status: "stored_with_warnings",
      warnings: [{ code: "older_than_3_years" }],
    });
    expect(results[1].reasons[0].code).toBe("overlaps_read");
    expect(results[2].reasons[0].code).toBe("in_future");
    expect(results[3].reasons[0].code).toBe("above_physical_limit");
    const row = await mr.db.meterRead.findFirst({
      where: { deviceId: "dev-h", endAt: new Date("2023-01-02T00:00:00Z") },
    });
    expect(row).toMatchObject({ eligible: false, flags: ["older_than_3_years"] });
  });

  it("keeps refused reads and lists them with paging, newest first, each once", async () => {
    const list = async (query = "limit=2") =>
      (
        await mr.app.inject({
          method: "GET",
          url: `/organizations/${ORG}/devices/dev-h/refused-reads?${query}`,
          headers: mr.auth("usr-viewer"),
        })
      ).json();
    const first = await list();
    expect(first.items).toHaveLength(2);
    expect(first.items[0].reasons[0].code).toBe("above_physical_limit");
    expect(first.items[0].read).toMatchObject({ value: 11_000 });
    const rest = await list(`limit=100&cursor=${first.next}`);
    const all = [...first.items, ...rest.items];
    expect(all.map((i) => i.reasons[0].code)).toContain("not_whole_wh");
    const before = await mr.db.refusedRead.count({ where: { deviceId: "dev-h" } });
    await post({
      type: "history",
      unit: "kWh",
      deviceId: "dev-h",
      reads: [{ starttimestamp: "2026-11-03T00:00:00Z", endtimestamp: "2026-11-04T00:00:00Z", value: -1 }],
    });
    expect(await mr.db.refusedRead.count({ where: { deviceId: "dev-h" } })).toBe(before);
    // A cursor no page ever gave (beyond a bigint: once a 500) is a 400 naming it.
    const res = await mr.app.inject({
      method: "GET",
      url: `/organizations/${ORG}/devices/dev-h/refused-reads?cursor=99999999999999999999`,
      headers: mr.auth("usr-viewer"),
    });
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(res.json().error)).toContain("cursor");
  });

  it("counts delta reads from the previous entry and aggregate reads as register differences", async () => {
    const delta = await post({
      type: "delta",
      unit: "Wh",
      deviceId: "dev-d",
      reads: [
        { endtimestamp: "2026-11-01T00:00:00Z", value: 999 },
        { endtimestamp: "2026-11-02T00:00:00Z", value: 20_000 },
        { endtimestamp: "2026-11-03T00:00:00Z", value: 21_000 },
      ],
    });
    expect(delta.json().results.map((r: { energyWh: number | null }) => r.energyWh)).toEqual([
      null,
      20_000,
      21_000,
    ]);
    expect(delta.json().results[0].warnings[0].code).toBe("starting_point");

    const aggregate = await post({
      type: "meter read",
      unit: "kWh",
      deviceId: "dev-g",
      reads: [
        { endtimestamp: "2026-11-01T00:00:00Z", value: 1000 },
        { endtimestamp: "2026-11-02T00:00:00Z", value: 1020 },
        { endtimestamp: "2026-11-03T00:00:00Z", value: 1019 },
        { endtimestamp: "2026-11-04T00:00:00Z", value: 1041.5 },
      ],
    });
    expect(
      aggregate
        .json()
        .results.map(
          (r: { energyWh: number | null; reasons: { code: string }[] }) =>
            r.energyWh ?? r.reasons[0]?.code ?? null,
        ),
    ).toEqual([null, 20_000, "decreasing_register", 21_500]);
  });

  it("refuses switching a device between delta and aggregate, and allows history", async () => {
    const res = await post({
      type: "aggregate",
      unit: "Wh",
      deviceId: "dev-d",
      reads: [{ endtimestamp: "2026-11-04T00:00:00Z", value: 5 }],
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe("read_type_switch_refused");
    const history = await post({
      type: "history",
      unit: "Wh",
      deviceId: "dev-d",
      reads: [
        { starttimestamp: "2026-11-02T12:00:00Z", endtimestamp: "2026-11-02T13:00:00Z", value: 5 },
        { starttimestamp: "2026-11-05T00:00:00Z", endtimestamp: "2026-11-05T01:00:00Z", value: 5 },
      ],
    });
    expect(history.json().results.map((r: { status: string }) => r.status)).toEqual(["refused", "stored"]);
  });

  it("lets owners and operators write and viewers read; another organization's device is not found", async () => {
    const batch = (deviceId: string) => ({
      type: "history",
      unit: "Wh",
      deviceId,
      reads: [{ starttimestamp: "2026-11-20T00:00:00Z", endtimestamp: "2026-11-20T01:00:00Z", value: 1 }],
    });
    expect((await post(batch("dev-h"), mr.auth("usr-op"))).statusCode).toBe(200);
    expect((await post(batch("dev-h"), mr.auth("usr-viewer"))).statusCode).toBe(403);
    expect((await post(batch("dev-b"))).statusCode).toBe(404);
    expect((await post(batch("dev-b"), mr.auth("usr-other"), "org-a")).statusCode).toBe(404);
    const reads = await mr.app.inject({
      method: "GET",
      url: "/organizations/org-a/devices/dev-h/reads",
      headers: mr.auth("usr-viewer"),
    });
    expect(reads.statusCode).toBe(200);
    const foreign = await mr.app.inject({
      method: "GET",
      url: "/organizations/org-b/devices/dev-b/reads",
      headers: mr.auth("usr-viewer"),
    });
    expect(foreign.statusCode).toBe(404);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      "a bad date",
      { reads: [{ starttimestamp: "2026-13-01T00:00:00Z", endtimestamp: "2026-11-01T01:00:00Z", value: 1 }] },
      "reads.0.starttimestamp",
    ],
    [
      "a local time without a zone",
      { reads: [{ starttimestamp: "2026-11-01T00:00:00", endtimestamp: "2026-11-01T01:00:00Z", value: 1 }] },
      "reads.0.starttimestamp",
    ],
    [
      "a non-numeric value",
      {
        reads: [
          { starttimestamp: "2026-11-01T00:00:00Z", endtimestamp: "2026-11-01T01:00:00Z", value: "12" },
        ],
      },
      "reads.0.value",
    ],
    ["an unknown type", { type: "running" }, "type"],
    ["an unknown unit", { unit: "GWh" }, "unit"],
    ["an empty batch", { reads: [] }, "reads"],
    ["an unknown time zone", { timezone: "Mars/Olympus" }, "timezone"],
    [
      "a timestamp twice",
      {
        reads: [
          { starttimestamp: "2026-11-01T00:00:00Z", endtimestamp: "2026-11-01T01:00:00Z", value: 1 },
          { starttimestamp: "2026-11-01T00:30:00Z", endtimestamp: "2026-11-01T01:00:00Z", value: 2 },
        ],
      },
      "reads.1.endtimestamp",
    ],
  ])("refuses %s with a 400 naming the field", async (_what, change, field) => {
    const res = await post({
      type: "history",
      unit: "Wh",
      deviceId: "dev-q",
      reads: [{ starttimestamp: "2026-11-01T00:00:00Z", endtimestamp: "2026-11-01T01:00:00Z", value: 1 }],
      ...change,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.fields.map((f: { path: string }) => f.path)).toContain(`body.${field}`);
  });

  it("refuses an oversize batch", async () => {
    const res = await post({
      type: "history",
      unit: "Wh",
      deviceId: "dev-q",
      reads: hourly("2026-01-01T00:00:00Z", 10_001, () => 1),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.fields[0].path).toBe("body.reads");
  });

  it("reads local timestamps in the batch's time zone", async () => {
    const res = await post({
      type: "history",
      unit: "Wh",
      deviceId: "dev-q",
      timezone: "Asia/Tokyo",
      reads: [{ starttimestamp: "2026-11-01T09:00:00", endtimestamp: "2026-11-01T10:00:00", value: 7 }],
    });
    expect(res.json().results[0]).toMatchObject({
      status: "stored",
      endtimestamp: "2026-11-01T01:00:00.000Z",
    });
  });
});
