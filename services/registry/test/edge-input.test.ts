import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry } from "./helpers.ts";

/**
 * Bad characters and sizes are a 400 naming the field, never a 500 (issue 10, "What was seen" 3): a NUL or a
 * lone surrogate anywhere (PostgreSQL text holds no NUL; a lone surrogate has no UTF-8 form), JSON nested
 * deep enough to overflow a stack, numbers larger than the column that stores them.
 */
describe("input refused at the edge", () => {
  let r: Awaited<ReturnType<typeof startRegistry>>;
  let orgId: string;
  let siteId: string;
  let deviceId: string;

  function call(method: "GET" | "POST" | "PATCH" | "DELETE", url: string, payload?: string | object) {
    return r.app.inject({
      method,
      url,
      headers: { ...r.auth("usr-edge"), "content-type": "application/json" },
      ...(payload === undefined ? {} : { payload }),
    });
  }
  const fieldsOf = (res: { json: () => { error: { fields?: Array<{ path: string }> } } }) =>
    res.json().error.fields?.map((f) => f.path);

  beforeAll(async () => {
    r = await startRegistry();
    await r.db.identity.create({ data: { id: "usr-edge", type: "user", name: "Edge" } });
    orgId = (await call("POST", "/organizations", { name: "Edge Org", kind: "developer" })).json().id;
    siteId = (
      await call("POST", `/organizations/${orgId}/sites`, { name: "Roof", timezone: "Europe/Stockholm" })
    ).json().id;
    const device = await call("POST", `/organizations/${orgId}/devices`, {
      siteId,
      type: "inverter",
      name: "Inverter",
    });
    expect(device.statusCode, device.body).toBe(201);
    deviceId = device.json().id;
  });
  afterAll(async () => r?.close());

  it("refuses a NUL in the login challenge's identityId (no token needed) with a 400 naming it", async () => {
    const res = await r.app.inject({
      method: "POST",
      url: "/auth/challenge",
      headers: { "content-type": "application/json" },
      payload: '{"identityId":"a\\u0000b"}',
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(fieldsOf(res)).toEqual(["body.identityId"]);
  });

  it("refuses NUL and lone surrogates in names on POST and PATCH, and stores nothing", async () => {
    const org = await call("POST", "/organizations", '{"name":"Evil\\u0000Corp","kind":"developer"}');
    expect(org.statusCode, org.body).toBe(400);
    expect(fieldsOf(org)).toEqual(["body.name"]);

    const site = await call("PATCH", `/organizations/${orgId}/sites/${siteId}`, '{"name":"Roof \\ud800"}');
    expect(site.statusCode, site.body).toBe(400);
    expect(fieldsOf(site)).toEqual(["body.name"]);
    expect((await r.db.site.findUniqueOrThrow({ where: { id: siteId } })).name).toBe("Roof");

    const der = await call(
      "POST",
      `/organizations/${orgId}/devices/${deviceId}/ders`,
      '{"derType":"solar","name":"\\udfffPanel"}',
    );
    expect(der.statusCode, der.body).toBe(400);
    expect(await r.db.organization.count({ where: { name: { startsWith: "Evil" } } })).toBe(0);
  });

  it("refuses a ratedPowerW that its 32-bit column cannot hold with a 400, and takes the largest that fits", async () => {
    const url = `/organizations/${orgId}/devices/${deviceId}/ders`;
    const tooLarge = await call("POST", url, { derType: "solar", name: "Huge", ratedPowerW: 2_147_483_648 });
    expect(tooLarge.statusCode, tooLarge.body).toBe(400);
    expect(fieldsOf(tooLarge)).toEqual(["body.ratedPowerW"]);
    const largest = await call("POST", url, {
      derType: "solar",
      name: "Largest",
      ratedPowerW: 2_147_483_647,
    });
    expect(largest.statusCode, largest.body).toBe(201);
  });

  it("refuses strings longer than their field allows (ids, codes, links) with a 400 naming the field", async () => {
    const site = await call("GET", `/organizations/${orgId}/sites/${"s".repeat(129)}`);
    expect(site.statusCode, site.body).toBe(400);
    expect(fieldsOf(site)).toEqual(["params.siteId"]);
    const community = await call("POST", `/organizations/${orgId}/communities`, {
      key: "long_links",
      name: "Links",
      links: { website: `https://example.org/${"x".repeat(3000)}` },
    });
    expect(community.statusCode, community.body).toBe(400);
    expect(fieldsOf(community)).toEqual(["body.links.website"]);
  });

  it("refuses %00 in a path and in a query string with a 400", async () => {
    const path = await call("GET", `/organizations/${orgId}/sites/sit-%00`);
    expect(path.statusCode, path.body).toBe(400);
    expect(fieldsOf(path)).toEqual(["params.siteId"]);

    const org = await call("GET", "/organizations/org-%00/devices");
    expect(org.statusCode, org.body).toBe(400);
    expect(fieldsOf(org)).toEqual(["params.orgId"]);

    const query = await call("GET", `/organizations/${orgId}/devices?siteId=%00`);
    expect(query.statusCode, query.body).toBe(400);
    expect(fieldsOf(query)).toEqual(["querystring.siteId"]);
  });

  it("refuses a community whose extra field is 10,000 levels deep with a 400, and keeps answering", async () => {
    const levels = 10_000;
    const res = await call(
      "POST",
      `/organizations/${orgId}/communities`,
      `{"key":"deep_rec","name":"Deep","extra":{"x":${'{"a":'.repeat(levels)}1${"}".repeat(levels)}}}`,
    );
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.message).toMatch(/^body\.extra\.x(\.a)+: is nested too deep/);
    expect(await r.db.community.count()).toBe(0);
    expect((await r.app.inject({ url: "/healthz" })).statusCode).toBe(200);
  });
});
