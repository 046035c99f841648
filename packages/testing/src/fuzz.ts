import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type JsonSchema,
  type OpenApiDocument,
  type RouteInputs,
  routesOf,
  unboundedInputs,
} from "./openapi.ts";

/** What `app.inject()` of a fastify app takes and answers (only what the fuzz test uses). */
export type Injectable = {
  inject(request: {
    method: string;
    url: string;
    headers?: Record<string, string>;
    payload?: string;
  }): Promise<{ statusCode: number; body: string }>;
};

export type FuzzTarget = {
  /** The service's app, built as its tests build it (real database and broker). */
  app: Injectable;
  /** Headers of a caller allowed on the routes, e.g. `{ authorization: "Bearer …" }` of an organization's owner. */
  headers: Record<string, string>;
  /** Headers for one route instead of `headers` (ingestion: a gateway's token for telemetry, a user's for reads). */
  headersFor?: (route: { method: string; path: string }) => Record<string, string> | undefined;
  /** Values of path parameters that name real things (`{ orgId: "org-…" }`), so requests get past the guards. */
  params?: Record<string, string>;
  close(): Promise<void>;
};

export type FuzzOptions = {
  /** fast-check's seed: the same seed sends the same requests. */
  seed?: number;
  /** Malformed requests per route. */
  runsPerRoute?: number;
  /** Routes left out, as "METHOD /path" in OpenAPI form. */
  skip?: string[];
};

/** A JSON value, or raw JSON text spliced in where JSON.stringify cannot go (10,000 levels deep). */
type Hostile = { value: unknown } | { raw: string };

const DEEP = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
const DEEP_OBJECT = `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`;

const hostileString = fc.constantFrom(
  "a\u0000b",
  "\u0000",
  "\ud800",
  "x\udfff",
  "",
  " ",
  "x".repeat(100_000),
  "%00",
  "😀\u200b\ufeff",
  "../../etc/passwd",
  "' OR 1=1 --",
  "2147483648",
  "-1",
  "NaN",
  "Infinity",
  "1e999",
  "null",
  "true",
  "2026-13-45T25:61:61Z",
);
const hostileNumber = fc.constantFrom(
  2147483648,
  -2147483649,
  2 ** 53,
  -1,
  0.5,
  1e308,
  -1e308,
  -0,
  Number.MAX_SAFE_INTEGER,
);
const wrongType = fc.constantFrom<unknown>(null, true, [], {}, "string", 123, [null], { "": "" });
const hostileValue: fc.Arbitrary<Hostile> = fc.oneof(
  hostileString.map((value) => ({ value })),
  hostileNumber.map((value) => ({ value })),
  wrongType.map((value) => ({ value })),
  fc.constantFrom({ raw: DEEP }, { raw: DEEP_OBJECT }),
  fc.string({ unit: "binary", maxLength: 40 }).map((value) => ({ value })),
);

// a lone surrogate has no percent-encoding (encodeURIComponent throws): hostileSegment sends its UTF-8-like bytes
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Path segments as a client might send them: NUL, invalid UTF-8, overlong, malformed escapes. */
const hostileSegment = fc.constantFrom(
  "%00",
  "a%00b",
  "%ED%A0%80",
  "%FF",
  "%",
  "%ZZ",
  "x".repeat(5_000),
  "%20",
  "..",
  "%F0%9F%98%80",
  "2147483648",
  "-1",
);

/** A body with the required fields of the schema filled with plausible values (the base a mutation changes). */
export function skeleton(schema: JsonSchema, resolve: (s: JsonSchema) => JsonSchema, depth = 0): unknown {
  const s = resolve(schema);
  if (depth > 8) return null;
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  if (s.default !== undefined) return s.default;
  const alternative = s.anyOf?.[0] ?? s.oneOf?.[0] ?? s.allOf?.[0];
  if (alternative) return skeleton(alternative, resolve, depth + 1);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type) {
    case "string":
      return "x".repeat(Math.max(1, s.minLength ?? 1));
    case "integer":
    case "number":
      return s.minimum ?? (s.exclusiveMinimum === undefined ? 1 : s.exclusiveMinimum + 1);
    case "boolean":
      return true;
    case "array":
      return Array.from({ length: s.minItems ?? 0 }, () => skeleton(s.items ?? {}, resolve, depth + 1));
    case "object": {
      const out: Record<string, unknown> = {};
      for (const name of s.required ?? [])
        out[name] = skeleton(s.properties?.[name] ?? {}, resolve, depth + 1);
      return out;
    }
    default:
      return {};
  }
}

/** Every place in a body schema a value can go, as paths of keys (`[]` for an array item), root first. */
function locations(schema: JsonSchema, resolve: (s: JsonSchema) => JsonSchema): string[][] {
  const out: string[][] = [[]];
  const visit = (raw: JsonSchema, path: string[], depth: number) => {
    const s = resolve(raw);
    if (depth > 6) return;
    for (const [name, child] of Object.entries(s.properties ?? {})) {
      out.push([...path, name]);
      visit(child, [...path, name], depth + 1);
    }
    if (s.items) {
      out.push([...path, "[]"]);
      visit(s.items, [...path, "[]"], depth + 1);
    }
    if (typeof s.additionalProperties === "object") {
      out.push([...path, "extra_key"]);
      visit(s.additionalProperties, [...path, "extra_key"], depth + 1);
    }
    for (const child of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])])
      visit(child, path, depth + 1);
  };
  visit(schema, [], 0);
  return out;
}

const MARK = "\u0001fuzz-raw\u0001";

/** The skeleton with `hostile` put at `path` (missing objects and arrays on the way created), as JSON text. */
function mutatedBody(base: unknown, path: string[], hostile: Hostile): string {
  const placed = "value" in hostile ? hostile.value : MARK;
  let root: unknown = structuredClone(base);
  if (path.length === 0) root = placed;
  else {
    if (typeof root !== "object" || root === null) root = path[0] === "[]" ? [] : {};
    let node = root as Record<string, unknown> | unknown[];
    path.forEach((key, i) => {
      const last = i === path.length - 1;
      const next = path[i + 1] === "[]" ? [] : {};
      if (Array.isArray(node)) {
        if (last) node.push(placed);
        else {
          node.push(next);
          node = next;
        }
        return;
      }
      if (last) node[key] = placed;
      else {
        const existing = node[key];
        if (typeof existing === "object" && existing !== null) node = existing as typeof node;
        else {
          node[key] = next;
          node = next;
        }
      }
    });
  }
  const text = JSON.stringify(root);
  return "raw" in hostile ? text.replace(JSON.stringify(MARK), hostile.raw) : text;
}

type Case = { method: string; url: string; payload?: string; contentType?: string };

function urlOf(
  route: RouteInputs,
  params: Record<string, string>,
  segment?: { name: string; value: string },
) {
  return route.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    segment?.name === name ? segment.value : encodeURIComponent(params[name] ?? "x"),
  );
}

/** Arbitrary malformed requests to one route: a hostile body field, path parameter or query value, or a broken body. */
function casesFor(route: RouteInputs, params: Record<string, string>, document: OpenApiDocument) {
  const resolve = (schema: JsonSchema): JsonSchema => {
    const ref = schema.$ref?.replace("#/components/schemas/", "");
    return ref ? (document.components?.schemas?.[ref] ?? {}) : schema;
  };
  const base = route.body ? skeleton(route.body, resolve) : undefined;
  const baseQuery = route.query
    .filter((q) => q.required)
    .map((q) => `${q.name}=${encodeURIComponent(String(skeleton(q.schema, resolve)))}`);
  const query = (extra: string[] = []) => {
    const parts = [...baseQuery, ...extra];
    return parts.length > 0 ? `?${parts.join("&")}` : "";
  };
  const plainUrl = urlOf(route, params);
  const withBody = (payload: string | undefined, contentType = "application/json"): Partial<Case> =>
    route.method === "GET" || route.method === "DELETE" ? {} : { payload: payload ?? "{}", contentType };

  const arbitraries: Array<fc.Arbitrary<Case>> = [];
  if (route.body) {
    const places = locations(route.body, resolve);
    arbitraries.push(
      fc.tuple(fc.constantFrom(...places), hostileValue).map(([path, hostile]) => ({
        method: route.method,
        url: `${plainUrl}${query()}`,
        payload: mutatedBody(base, path, hostile),
        contentType: "application/json",
      })),
      fc
        .constantFrom('{"a":', "[1,2", "", "nul", '{"__proto__":{"x":1}}', '"just a string"', "1e999999")
        .map((payload) => ({
          method: route.method,
          url: `${plainUrl}${query()}`,
          payload,
          contentType: "application/json",
        })),
    );
  }
  if (route.params.length > 0) {
    arbitraries.push(
      fc.tuple(fc.constantFrom(...route.params.map((p) => p.name)), hostileSegment).map(([name, value]) => ({
        method: route.method,
        url: `${urlOf(route, params, { name, value })}${query()}`,
        ...withBody(base === undefined ? undefined : JSON.stringify(base)),
      })),
    );
  }
  if (route.query.length > 0) {
    arbitraries.push(
      fc
        .tuple(
          fc.constantFrom(...route.query.map((q) => q.name)),
          fc.oneof(
            hostileSegment,
            hostileString.map((s) => encodeURIComponent(s.slice(0, 2_000).replace(LONE_SURROGATE, "\ufffd"))),
          ),
          fc.boolean(),
        )
        .map(([name, value, twice]) => ({
          method: route.method,
          url: `${plainUrl}${query([`${name}=${value}`, ...(twice ? [`${name}=${value}`] : [])])}`,
          ...withBody(base === undefined ? undefined : JSON.stringify(base)),
        })),
    );
  }
  if (arbitraries.length === 0) {
    // no input of its own: a body it does not expect, odd content types
    arbitraries.push(
      fc
        .constantFrom("text/plain", "application/json", "application/x-www-form-urlencoded")
        .map((contentType) => ({
          method: route.method,
          url: `${plainUrl}?%00=%00`,
          ...withBody('{"unexpected":"\\u0000"}', contentType),
        })),
    );
  }
  return fc.oneof(...arbitraries);
}

/**
 * The fuzz test of a service, from its OpenAPI document (`/openapi.json`), in the service's normal suite:
 * - every input field of the document is bounded (strings have maxLength, integers chosen bounds);
 * - malformed requests (NUL and lone surrogates, huge strings, huge/negative numbers and number-like strings,
 *   wrong types, JSON 10,000 levels deep, broken JSON, bad path segments and query values) sent to every route
 *   with a valid token are answered 4xx (or 2xx), never 5xx, and the service is healthy (`/healthz`) after.
 * Seeded and bounded: the same seed sends the same requests, `runsPerRoute` per route.
 *
 * ```ts
 * describeInputFuzz("registry", startFuzzTarget); // test/fuzz.test.ts
 * ```
 */
export function describeInputFuzz(service: string, start: () => Promise<FuzzTarget>, opts: FuzzOptions = {}) {
  const seed = opts.seed ?? 20_261_201;
  const runsPerRoute = opts.runsPerRoute ?? 6;

  describe(`${service}: malformed input (fuzz, seed ${seed})`, () => {
    let target: FuzzTarget;
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

    it("bounds every input field of its OpenAPI document (strings: maxLength; integers: chosen bounds)", () => {
      expect(unboundedInputs(document)).toEqual([]);
    });

    it("answers malformed requests on every route with 4xx, never 5xx, and stays healthy", async () => {
      const skip = new Set(opts.skip ?? []);
      const routes = routesOf(document).filter((route) => !skip.has(`${route.method} ${route.path}`));
      expect(routes.length).toBeGreaterThan(0);
      const failures: string[] = [];
      let sent = 0;
      for (const [i, route] of routes.entries()) {
        const cases = fc.sample(casesFor(route, target.params ?? {}, document), {
          seed: seed + i,
          numRuns: runsPerRoute,
        });
        for (const request of cases) {
          const res = await target.app.inject({
            method: request.method,
            url: request.url,
            headers: {
              ...(target.headersFor?.(route) ?? target.headers),
              ...(request.contentType ? { "content-type": request.contentType } : {}),
            },
            ...(request.payload === undefined ? {} : { payload: request.payload }),
          });
          sent++;
          if (res.statusCode >= 500) {
            const shown = (request.payload ?? "").slice(0, 200);
            failures.push(
              `${route.method} ${route.path}: ${request.method} ${request.url.slice(0, 200)} ${shown} → ${res.statusCode} ${res.body.slice(0, 200)}`,
            );
          }
        }
      }
      expect(failures).toEqual([]);
      expect(sent).toBe(routes.length * runsPerRoute);
      const health = await target.app.inject({ method: "GET", url: "/healthz" });
      expect(health.statusCode).toBe(200);
    });
  });
}
