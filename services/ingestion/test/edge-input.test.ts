import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ingestion, seedSite, startIngestion } from "./helpers.ts";

/**
 * Bad characters and sizes never answer 500 (issue 10, "What was seen" 3): one bad telemetry item is refused on
 * its own, naming the field, and the rest of its batch is accepted; a path with %00 is a 400.
 */
const GATEWAY = "zap-edge";
let ing: Ingestion;
let tick = 0;
const ts = () => Date.now() - 600_000 + ++tick * 1000;

beforeAll(async () => {
  ing = await startIngestion();
  await seedSite(ing.db, {
    orgId: "org-edge",
    siteId: "sit-edge",
    deviceId: "dev-edge",
    gatewayId: GATEWAY,
    ders: { "der-edge-pv": "solar" },
    members: ["usr-edge"],
  });
});
afterAll(async () => {
  await ing?.close();
});

function send(payload: string) {
  return ing.app.inject({
    method: "POST",
    url: "/v1/telemetry",
    headers: { ...ing.auth(GATEWAY), "content-type": "application/json" },
    payload,
  });
}
const good = () =>
  JSON.stringify({ derId: "der-edge-pv", reading: { type: "pv", timestamp: ts(), W: -100 } });
const reasonsOf = (body: { rejected: Array<{ index: number; reasons: Array<{ field: string }> }> }) =>
  body.rejected.map((r) => ({ index: r.index, fields: r.reasons.map((reason) => reason.field) }));

describe("telemetry items with bad text or sizes", () => {
  it("refuses an item with a NUL (also one refused for another reason) on its own, naming the field", async () => {
    const nulMake = `{"derId":"der-edge-pv","reading":{"type":"pv","timestamp":${ts()},"make":"De\\u0000ye"}}`;
    const nulAndBadW = `{"derId":"der-edge-pv","reading":{"type":"pv","timestamp":${ts()},"W":"x\\u0000"}}`;
    const loneSurrogateDer = `{"derId":"der-\\ud800","reading":{"type":"pv","timestamp":${ts()}}}`;
    const res = await send(`[${good()},${nulMake},${nulAndBadW},${loneSurrogateDer}]`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().accepted).toBe(1);
    expect(reasonsOf(res.json())).toEqual([
      { index: 1, fields: ["reading.make"] },
      { index: 2, fields: ["reading.W"] },
      { index: 3, fields: ["derId"] },
    ]);
    // the refusals are stored, the bad characters made visible instead of breaking the row
    const stored = await ing.db.rejectedReading.findMany({ where: { gatewayId: GATEWAY } });
    expect(stored).toHaveLength(3);
    expect(JSON.stringify(stored.map((row) => row.raw))).toContain("De\\\\u0000ye");
  });

  it("refuses an NDJSON item nested 10,000 levels deep on its own; a JSON array that deep is refused whole", async () => {
    const deep = `{"derId":"der-edge-pv","reading":{"type":"pv","timestamp":${ts()},"x":${"[".repeat(10_000)}${"]".repeat(10_000)}}}`;
    const ndjson = await ing.app.inject({
      method: "POST",
      url: "/v1/telemetry",
      headers: { ...ing.auth(GATEWAY), "content-type": "application/x-ndjson" },
      payload: `${good()}\n${deep}\n`,
    });
    expect(ndjson.statusCode, ndjson.body).toBe(200);
    expect(ndjson.json().accepted).toBe(1);
    expect(reasonsOf(ndjson.json())).toEqual([
      { index: 1, fields: [expect.stringMatching(/^reading\.x(\.0)+$/)] },
    ]);

    const array = await send(`[${good()},${deep}]`);
    expect(array.statusCode, array.body).toBe(400);
    expect(array.json().error.message).toMatch(/^body\.1\.reading\.x(\.0)+: is nested too deep/);
  });

  it("refuses a reading with a 1.2 MB string naming the field, and accepts the rest of the batch", async () => {
    const huge = JSON.stringify({
      derId: "der-edge-pv",
      reading: { type: "pv", timestamp: ts(), make: "x".repeat(1_200_000) },
    });
    const res = await send(`[${good()},${huge}]`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().accepted).toBe(1);
    expect(reasonsOf(res.json())).toEqual([{ index: 1, fields: ["reading.make"] }]);
    // what is kept of it is an excerpt, not 1.2 MB
    const [row] = await ing.db.rejectedReading.findMany({ orderBy: { id: "desc" }, take: 1 });
    expect(JSON.stringify(row?.raw).length).toBeLessThan(10_000);
  });

  it("answers %00 in a path with a 400 naming the parameter", async () => {
    const res = await ing.app.inject({
      method: "GET",
      url: "/organizations/org-edge/devices/dev-%00/twin",
      headers: ing.auth("usr-edge", "user"),
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.fields.map((f: { path: string }) => f.path)).toEqual(["params.deviceId"]);
    expect((await ing.app.inject({ url: "/healthz" })).statusCode).toBe(200);
  });
});
