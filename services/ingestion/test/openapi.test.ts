import { undocumentedErrorCodes } from "@energy/service-kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ingestion, startIngestion } from "./helpers.ts";

// What a gateway maker reads: the WebSocket route and the telemetry models, from the same zod schemas the
// ingestor checks readings with (packages/contracts).

let ing: Ingestion;
// biome-ignore lint/suspicious/noExplicitAny: a JSON document walked by the test
let doc: any;

beforeAll(async () => {
  ing = await startIngestion();
  doc = (await ing.app.inject({ method: "GET", url: "/openapi.json" })).json();
});
afterAll(async () => {
  await ing?.close();
});

describe("ingestion's OpenAPI document", () => {
  it("documents the WebSocket route, its frames and its answers", () => {
    const ws = doc.paths["/v1/telemetry/ws"]?.get;
    expect(ws?.summary).toBe("Stream telemetry batches over a WebSocket (gateways)");
    expect(ws.description).toContain("{ batchId, items: [{ derId, reading }] }");
    expect(ws.description).toContain("{ batchId, error: { code, message } }");
  });

  it("documents the reading of a telemetry item as the five telemetry models, with units and signs", () => {
    const body = doc.paths["/v1/telemetry"].post.requestBody.content["application/json"].schema;
    const item = body.anyOf.find((s: { type?: string }) => s.type === "array").items;
    const models = item.properties.reading.oneOf;
    const byType = Object.fromEntries(
      models.map((m: { properties: { type: { enum: string[] } } }) => [m.properties.type.enum[0], m]),
    );
    expect(Object.keys(byType).sort()).toEqual(["battery", "ev_charger_port", "meter", "pv", "v2x_charger"]);
    for (const model of models) expect(model.required).toEqual(expect.arrayContaining(["type", "timestamp"]));
    const pv = byType.pv;
    expect(pv.description).toContain("W <= 0");
    expect(pv.properties.W.anyOf[0]).toMatchObject({ type: "integer", maximum: 0 });
    expect(pv.properties.total_generation_Wh.anyOf[0]).toMatchObject({ type: "integer", minimum: 0 });
    expect(pv.properties.make.anyOf[0]).toMatchObject({ type: "string", maxLength: 200 });
    expect(byType.battery.properties.SoC_nom_fract.anyOf[0]).toMatchObject({ minimum: 0, maximum: 1 });
    const bands = byType.ev_charger_port.properties.upper_limit_W.anyOf[0];
    expect(bands).toMatchObject({ type: "array", maxItems: 16 });
    expect(bands.description).toContain("bands do not overlap");
    expect(byType.ev_charger_port.properties.connector_status.anyOf[0].enum).toContain("available");
  });

  it("documents the 503 of a slowed gateway", () => {
    expect(doc.paths["/v1/telemetry"].post.responses["503"]).toBeDefined();
    expect(doc.paths["/v1/telemetry"].post.responses["503"].description).toContain("`store_behind`");
  });

  it("lists each of ingestion's codes of the catalog on the routes that answer it", () => {
    expect(undocumentedErrorCodes("ingestion", doc)).toEqual([]);
    const intervals = doc.paths["/organizations/{orgId}/ders/{derId}/intervals"].get.responses;
    expect(intervals["400"].description).toContain("`invalid_query`");
  });
});
