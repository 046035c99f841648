import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES } from "../src/index.ts";
import { buildTestApp, signToken, type TestApp } from "./helpers.ts";

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ readiness: { database: async () => "ok" } });
});
afterAll(() => t.app.close());

type Responses = Record<string, { description?: string }>;
async function responsesOf(path: string, method: "get" | "post"): Promise<Responses> {
  const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json();
  return doc.paths[path][method].responses;
}

describe("the error catalog", () => {
  it("answers with the catalog's code and status, over HTTP, for faults and refusals alike", async () => {
    const auth = { authorization: `Bearer ${signToken()}` };
    const boom = await t.app.inject({ method: "GET", url: "/boom", headers: auth });
    expect(boom.statusCode).toBe(ERROR_CODES.internal.status);
    expect(boom.json().error).toEqual({ code: "internal", message: "Internal error" });
    const anonymous = await t.app.inject({ method: "GET", url: "/whoami" });
    expect(anonymous.statusCode).toBe(ERROR_CODES.unauthorized.status);
    expect(anonymous.json().error.code).toBe("unauthorized");
  });

  it("documents each route's error answers with their codes in the OpenAPI document", async () => {
    const whoami = await responsesOf("/whoami", "get");
    expect(Object.keys(whoami).sort()).toEqual(["200", "400", "401", "403", "404", "500"]);
    expect(whoami["401"]?.description).toContain("`unauthorized`");
    expect(whoami["404"]?.description).toContain("another organization's data is not found");
    expect(whoami["500"]?.description).toContain("`internal`");

    const things = await responsesOf("/things", "post");
    expect(things["413"]?.description).toContain("`payload_too_large`");
    expect(things["400"]?.description).toContain("`validation_failed`");
    // a public route needs no token: no 401 or 403 documented
    const open = await responsesOf("/public-thing", "get");
    expect(open["401"]).toBeUndefined();
    expect(open["403"]).toBeUndefined();
  });
});
