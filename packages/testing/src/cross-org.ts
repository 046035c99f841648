import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Injectable, skeleton } from "./fuzz.ts";
import { type JsonSchema, type OpenApiDocument, type RouteInputs, routesOf } from "./openapi.ts";

export type CrossOrgTarget = {
  /** The service's app, built as its tests build it (real database and broker). */
  app: Injectable;
  /** Headers of the caller: a member (owner) of its own organization and of no other. */
  headers: Record<string, string>;
  /** Headers for one route instead of `headers` (a gateway's token for telemetry, say), or null to leave it out. */
  headersFor?: (route: { method: string; path: string }) => Record<string, string> | null | undefined;
  /** The caller's own organization. */
  ownOrgId: string;
  /**
   * Path parameters naming another organization's things (`{ orgId, siteId, deviceId, … }`): real ids, so
   * a 404 means "not yours", not "no such id".
   */
  theirs: Record<string, string>;
  /** A valid body for a route (`"POST /organizations/{orgId}/sites"`), where the schema's skeleton is not one. */
  bodies?: Record<string, { payload: string | object; contentType?: string }>;
  /** A valid query string for a route (`siteId=…&deviceType=inverter`), where the required fields need real values. */
  queries?: Record<string, string>;
  close(): Promise<void>;
};

export type CrossOrgOptions = {
  /** Routes that are organization-scoped on purpose in another way, as "METHOD /path", each with why. */
  exempt?: Record<string, string>;
  /**
   * Routes where the caller's own organization may act on another's thing with proof (claiming a gateway
   * with its signature or claim code): only the "their organization" call is checked, with why.
   */
  ownOrgVariantExempt?: Record<string, string>;
};

const urlOf = (route: RouteInputs, params: Record<string, string>) =>
  route.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    encodeURIComponent(params[name] ?? `missing-${name}`),
  );

/**
 * Another organization's data is not found: every organization-scoped route of a service's OpenAPI document
 * (a path with `{orgId}`), called by a member of another organization, answers 404 — with the other
 * organization's id in the path, and, for routes naming a thing (`{deviceId}`, …), with the caller's own
 * organization in the path and the other organization's thing. A route whose parameters are not all in
 * `theirs` fails the test (add the id), so a new route cannot go untested.
 *
 * ```ts
 * describeCrossOrgIsolation("registry", startCrossOrgTarget); // test/cross-org.test.ts
 * ```
 */
export function describeCrossOrgIsolation(
  service: string,
  start: () => Promise<CrossOrgTarget>,
  opts: CrossOrgOptions = {},
) {
  describe(`${service}: another organization's data is not found`, () => {
    let target: CrossOrgTarget;
    let document: OpenApiDocument;

    beforeAll(async () => {
      target = await start();
      const res = await target.app.inject({ method: "GET", url: "/openapi.json" });
      expect(res.statusCode).toBe(200);
      document = JSON.parse(res.body) as OpenApiDocument;
    });
    afterAll(async () => {
      await target?.close();
    });

    it("answers 404 on every organization-scoped route, for the other organization and for its things", async () => {
      const exempt = opts.exempt ?? {};
      const resolve = (schema: JsonSchema): JsonSchema => {
        const ref = schema.$ref?.replace("#/components/schemas/", "");
        return ref ? (document.components?.schemas?.[ref] ?? {}) : schema;
      };
      const routes = routesOf(document).filter(
        (route) =>
          !route.public && route.path.includes("{orgId}") && !(`${route.method} ${route.path}` in exempt),
      );
      expect(routes.length).toBeGreaterThan(0);
      const failures: string[] = [];
      let calls = 0;
      for (const route of routes) {
        const name = `${route.method} ${route.path}`;
        const missing = route.params.map((p) => p.name).filter((p) => !(p in target.theirs));
        if (missing.length > 0) {
          failures.push(
            `${name}: no id of the other organization for ${missing.join(", ")} (add it to theirs)`,
          );
          continue;
        }
        const chosen = target.headersFor?.(route);
        if (chosen === null) continue;
        const headers = chosen ?? target.headers;
        const given = target.bodies?.[name];
        const payload =
          route.method === "GET" || route.method === "DELETE"
            ? undefined
            : given
              ? typeof given.payload === "string"
                ? given.payload
                : JSON.stringify(given.payload)
              : JSON.stringify(route.body ? skeleton(route.body, resolve) : {});
        const contentType = given?.contentType ?? "application/json";
        const required = route.query
          .filter((q) => q.required)
          .map((q) => `${q.name}=${encodeURIComponent(String(skeleton(q.schema, resolve)))}`);
        const query = target.queries?.[name] ?? required.join("&");
        const variants: Array<[string, Record<string, string>]> = [["their organization", target.theirs]];
        if (route.params.length > 1 && !(name in (opts.ownOrgVariantExempt ?? {}))) {
          variants.push(["own organization, their thing", { ...target.theirs, orgId: target.ownOrgId }]);
        }
        for (const [variant, params] of variants) {
          const url = `${urlOf(route, params)}${query ? `?${query}` : ""}`;
          const res = await target.app.inject({
            method: route.method,
            url,
            headers: payload === undefined ? headers : { ...headers, "content-type": contentType },
            ...(payload === undefined ? {} : { payload }),
          });
          calls++;
          if (res.statusCode !== 404) {
            failures.push(`${name} (${variant}): ${res.statusCode} ${res.body.slice(0, 300)}`);
          }
        }
      }
      expect(failures).toEqual([]);
      expect(calls).toBeGreaterThanOrEqual(routes.length);
    });
  });
}
