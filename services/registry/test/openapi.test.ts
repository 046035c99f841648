import { undocumentedErrorCodes } from "@energy/service-kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry } from "./helpers.ts";

/** The ops and docs routes that are intentionally left out of the document (README: Endpoints). */
const UNDOCUMENTED = [/^\/docs(\/|$)/, /^\/openapi\.json$/, /^\/metrics$/];

/**
 * Every route the app registered, as "METHOD /path" in OpenAPI form (`:orgId` → `{orgId}`), from
 * `printRoutes({ commonPrefix: false, includeMeta: ["method"] })`: a tree whose lines are full path segments, each
 * with the methods registered on it. Automatic HEAD routes (for every GET) are not counted.
 */
function registeredRoutes(tree: string): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split("\n")) {
    const match = /^([│ ]*)[├└]── (\S+) \(([^)]+)\)$/.exec(line);
    const segmentOnly = /^([│ ]*)[├└]── (\S+)$/.exec(line);
    const found = match ?? segmentOnly;
    if (!found) continue;
    const depth = (found[1] ?? "").length / 4;
    stack.length = depth;
    stack.push(found[2] ?? "");
    if (!match) continue;
    const path = stack.join("").replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    for (const method of (match[3] ?? "").split(",").map((m) => m.trim())) {
      if (method !== "HEAD") routes.push(`${method} ${path}`);
    }
  }
  return routes;
}

describe("OpenAPI", () => {
  let r: Awaited<ReturnType<typeof startRegistry>>;

  beforeAll(async () => {
    r = await startRegistry();
    await r.app.ready();
  });
  afterAll(async () => {
    await r?.close();
  });

  it("documents every route the registry registers, with its method, but the ops and docs routes", async () => {
    const res = await r.app.inject({ url: "/openapi.json" });
    expect(res.statusCode).toBe(200);
    const paths = res.json().paths as Record<string, Record<string, unknown>>;
    const documented = new Set(
      Object.entries(paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );

    const registered = registeredRoutes(r.app.printRoutes({ commonPrefix: false }));
    const hidden = registered.filter((route) =>
      UNDOCUMENTED.some((re) => re.test(route.split(" ")[1] ?? "")),
    );
    const mustBeDocumented = registered.filter((route) => !hidden.includes(route));

    // the parse found the app's routes (guards against a silently empty comparison)
    expect(registered).toEqual(
      expect.arrayContaining([
        "POST /organizations/{orgId}/invitations",
        "DELETE /organizations/{orgId}/invitations/{id}",
        "GET /organizations/{orgId}/devices/{deviceId}",
        "POST /organizations/{orgId}/imports",
        "GET /healthz",
      ]),
    );
    expect(hidden).toEqual(expect.arrayContaining(["GET /openapi.json", "GET /metrics", "GET /docs"]));
    expect(mustBeDocumented.length).toBeGreaterThan(40);
    expect(mustBeDocumented.filter((route) => !documented.has(route))).toEqual([]);
    // documented, not merely listed: @fastify/swagger lists a route without a schema too, so each route needs a
    // summary, service-kit's /healthz and /readyz included
    type Operation = { summary?: unknown };
    const unsummarized = Object.entries(paths).flatMap(([path, item]) =>
      Object.entries(item as Record<string, Operation>)
        .filter(([, operation]) => typeof operation.summary !== "string")
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(unsummarized.filter((route) => mustBeDocumented.includes(route))).toEqual([]);
    // and nothing in the document that the app does not serve
    expect([...documented].filter((route) => !registered.includes(route))).toEqual([]);
  });

  it("lists each rule code of the catalog (last_owner, invalid_csv, …) on the routes that answer it", async () => {
    const doc = (await r.app.inject({ url: "/openapi.json" })).json();
    expect(undocumentedErrorCodes("registry", doc)).toEqual([]);
    const removeMember = doc.paths["/organizations/{orgId}/members/{identityId}"].delete.responses;
    expect(removeMember["409"].description).toContain("`last_owner`: The organization's last owner");
    const upload = doc.paths["/organizations/{orgId}/imports"].post.responses;
    expect(upload["400"].description).toContain("`invalid_csv`");
    expect(upload["400"].description).toContain("`validation_failed`");
  });

  it("refuses a request without a token (401) on every documented route that is not public", async () => {
    const paths = (await r.app.inject({ url: "/openapi.json" })).json().paths as Record<
      string,
      Record<string, { security?: unknown[] }>
    >;
    const guarded = Object.entries(paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, operation]) => !(Array.isArray(operation.security) && operation.security.length === 0))
        .map(([method]) => ({ method: method.toUpperCase(), path })),
    );
    expect(guarded.length).toBeGreaterThan(40);
    const open: string[] = [];
    for (const { method, path } of guarded) {
      const url = path.replace(/\{[^}]+\}/g, "x");
      const res = await r.app.inject({
        method: method as "GET",
        url,
        payload: method === "GET" ? undefined : {},
      });
      if (res.statusCode !== 401) open.push(`${method} ${path} → ${res.statusCode}`);
    }
    expect(open).toEqual([]);
    // and the public ones are exactly the login, invitation-accept, key and health endpoints
    const publicOps = Object.entries(paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, operation]) => Array.isArray(operation.security) && operation.security.length === 0)
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(publicOps.sort()).toEqual(
      [
        "GET /.well-known/jwks.json",
        "GET /healthz",
        "GET /readyz",
        "POST /auth/challenge",
        "POST /auth/refresh",
        "POST /auth/verify",
        "POST /invitations/accept",
      ].sort(),
    );
  });

  it("refuses an oversize body with 413 payload_too_large, and malformed JSON with 400 invalid_json", async () => {
    await r.db.identity.create({ data: { id: "usr-big", type: "user", name: "Big Body" } });
    const org = await r.app.inject({
      method: "POST",
      url: "/organizations",
      headers: r.auth("usr-big"),
      payload: { name: "Body Limits", kind: "developer" },
    });
    expect(org.statusCode, org.body).toBe(201);
    const url = `/organizations/${org.json().id}/devices`;
    const headers = { ...r.auth("usr-big"), "content-type": "application/json" };

    const limit = 1024 * 1024;
    const large = await r.app.inject({
      method: "POST",
      url,
      headers,
      payload: JSON.stringify({
        siteId: "sit-x",
        type: "inverter",
        name: "x",
        description: "x".repeat(limit),
      }),
    });
    expect(large.statusCode).toBe(413);
    expect(large.json().error.code).toBe("payload_too_large");
    expect(large.json().error.message).toMatch(new RegExp(`too large.*at most ${limit} bytes`, "i"));

    const malformed = await r.app.inject({
      method: "POST",
      url,
      headers,
      payload: '{"siteId": "sit-x", "type": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe("invalid_json");
    expect(await r.db.device.count()).toBe(0);
    // an unknown enum value is a 400 naming the field
    const site = await r.app.inject({
      method: "POST",
      url: `/organizations/${org.json().id}/sites`,
      headers: r.auth("usr-big"),
      payload: { name: "Roof", timezone: "Europe/Stockholm" },
    });
    expect(site.statusCode, site.body).toBe(201);
    const toaster = await r.app.inject({
      method: "POST",
      url,
      headers: r.auth("usr-big"),
      payload: { siteId: site.json().id, type: "toaster", name: "Not a DER device" },
    });
    expect(toaster.statusCode).toBe(400);
    expect(toaster.json().error.fields.map((f: { path: string }) => f.path)).toContain("body.type");
    expect(await r.db.device.count()).toBe(0);
  });
});
