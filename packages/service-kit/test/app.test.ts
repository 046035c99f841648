import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildTestApp,
  hmacWithPublicKeyToken,
  keyPair,
  signToken,
  type TestApp,
  unsignedToken,
} from "./helpers.ts";

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ readiness: { database: async () => "ok" } });
});
afterAll(() => t.app.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("public routes", () => {
  it("serve health, readiness, metrics, docs and a public route without a token", async () => {
    for (const url of [
      "/healthz",
      "/readyz",
      "/metrics",
      "/openapi.json",
      "/docs",
      "/docs/json",
      "/docs/static/swagger-ui.css",
      "/public-thing",
    ]) {
      const res = await t.app.inject({ method: "GET", url });
      expect(res.statusCode, url).toBeLessThan(400);
    }
    const health = await t.app.inject({ method: "GET", url: "/healthz" });
    expect(health.json()).toEqual({ status: "ok" });
    const ready = await t.app.inject({ method: "GET", url: "/readyz" });
    expect(ready.json()).toEqual({ status: "ready", checks: { database: "ok" } });
  });

  it("answers an unknown route with a coded 404", async () => {
    const res = await t.app.inject({ method: "GET", url: "/nope?x=1" });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("not_found");
  });
});

describe("authentication", () => {
  const refused: Array<[string, Record<string, string>]> = [
    ["no token", {}],
    ["not a bearer header", { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` }],
    ["a garbage token", bearer("not.a.jwt")],
    ["an expired token", bearer(signToken({ exp: Math.floor(Date.now() / 1000) - 60 }))],
    ["a token signed by another key", bearer(signToken({}, keyPair().privateKeyPem))],
    ["an alg none token", bearer(unsignedToken())],
    ["an HS256 token keyed with the public key", bearer(hmacWithPublicKeyToken())],
    ["a token of an unknown identity type", bearer(signToken({ typ: "superuser" }))],
  ];

  it.each(refused)("refuses %s with 401", async (_name, headers) => {
    const res = await t.app.inject({ method: "GET", url: "/whoami", headers });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("unauthorized");
    expect(res.headers["www-authenticate"]).toBe("Bearer");
  });

  it("accepts a valid token and exposes the identity", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "/whoami",
      headers: bearer(signToken({ sub: "zap-7", typ: "gateway" })),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: "zap-7", type: "gateway" });
  });

  it("checks the token before reading the body", async () => {
    const res = await t.app.inject({ method: "POST", url: "/things", payload: { email: "nope" } });
    expect(res.statusCode).toBe(401);
  });
});

describe("errors", () => {
  const auth = bearer(signToken());

  it("names the bad body field in a 400", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/things",
      headers: auth,
      payload: { email: "not-an-email", name: "x" },
    });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe("validation_failed");
    expect(error.message).toContain("body.email");
    expect(error.fields).toEqual([{ path: "body.email", message: expect.any(String) }]);
  });

  it("accepts a valid body", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/things",
      headers: auth,
      payload: { email: "a@example.com", name: "x" },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ id: "thg-1", email: "a@example.com", name: "x" });
  });

  it("maps an AppError to its status and code", async () => {
    const res = await t.app.inject({ method: "POST", url: "/things/duplicate", headers: auth });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({
      error: { code: "conflict", message: "A thing with this email already exists" },
    });
  });

  it("answers an unknown throw with a 500 that hides the internals, and logs the stack", async () => {
    const res = await t.app.inject({ method: "GET", url: "/boom", headers: auth });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: "internal", message: "Internal error" } });
    expect(res.body).not.toContain("hunter2");
    expect(t.logs()).toMatch(/"msg":"unhandled error"/);
    expect(t.logs()).toMatch(/"stack":"Error: connection to postgres[^"]*\\n {4}at /);
  });

  it("answers a response that breaks its own schema with a 500", async () => {
    const res = await t.app.inject({ method: "GET", url: "/broken-response", headers: auth });
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe("internal");
  });

  it("sorts malformed requests: invalid JSON 400, too large 413, unsupported media type 415", async () => {
    const invalid = await t.app.inject({
      method: "POST",
      url: "/things",
      headers: { ...auth, "content-type": "application/json" },
      payload: "{not json",
    });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.code).toBe("invalid_json");

    const large = await t.app.inject({
      method: "POST",
      url: "/things",
      headers: auth,
      payload: { email: "a@example.com", name: "x".repeat(2000) },
    });
    expect(large.statusCode).toBe(413);
    expect(large.json().error.code).toBe("payload_too_large");

    const media = await t.app.inject({
      method: "POST",
      url: "/things",
      headers: { ...auth, "content-type": "application/x-www-form-urlencoded" },
      payload: "email=a",
    });
    expect(media.statusCode).toBe(415);
    expect(media.json().error.code).toBe("unsupported_media_type");
  });
});

describe("readiness", () => {
  it("answers 503 naming the failing checks, without leaking their error messages", async () => {
    const failing = await buildTestApp({
      readiness: {
        database: async () => "ok",
        kafka: async () => {
          throw new Error("broker unreachable");
        },
        slow: () => new Promise(() => {}),
      },
    });
    try {
      const res = await failing.app.inject({ method: "GET", url: "/readyz" });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({
        status: "not_ready",
        checks: {
          database: "ok",
          kafka: "failed",
          slow: "timed_out",
        },
      });
      expect(res.body).not.toContain("broker unreachable");
    } finally {
      await failing.app.close();
    }
  });
});

describe("metrics", () => {
  it("exposes request durations by route in Prometheus text", async () => {
    await t.app.inject({ method: "GET", url: "/healthz" });
    const res = await t.app.inject({ method: "GET", url: "/metrics" });
    expect(res.headers["content-type"]).toContain("text/plain");
    expect(res.body).toContain("http_request_duration_seconds_bucket");
    expect(res.body).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/healthz"[^}]*\} \d+/);
    expect(res.body).toContain("process_cpu_user_seconds_total");
  });

  it("lets a service register its own metrics on app.metrics", async () => {
    const { Counter } = await import("prom-client");
    const counter = new Counter({ name: "things_created_total", help: "things", registers: [t.app.metrics] });
    counter.inc();
    const res = await t.app.inject({ method: "GET", url: "/metrics" });
    expect(res.body).toContain("things_created_total");
  });
});

describe("OpenAPI", () => {
  it("documents routes with their zod schemas, bearer auth by default and public routes open", async () => {
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info).toMatchObject({ title: "test-service", version: "1.2.3" });
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);

    const post = doc.paths["/things"].post;
    const body = post.requestBody.content["application/json"].schema;
    expect(body.required).toEqual(["email", "name"]);
    expect(body.properties.email).toMatchObject({ type: "string", format: "email" });
    expect(post.security).toBeUndefined();

    expect(doc.paths["/healthz"].get.security).toEqual([]);
    expect(doc.paths["/public-thing"].get.security).toEqual([]);
    expect(doc.paths["/docs"]).toBeUndefined();
  });
});

describe("logging", () => {
  it("never writes the authorization header or secret fields", async () => {
    const token = signToken();
    const res = await t.app.inject({
      method: "POST",
      url: "/echo-logged",
      headers: { ...bearer(token), cookie: "session=s3cr3t" },
      payload: { user: { password: "pa55word", otp: "123456" }, refreshToken: "rt-xyz" },
    });
    expect(res.statusCode).toBe(200);
    const logs = t.logs();
    expect(logs).toContain('"msg":"received"');
    expect(logs).toContain("[redacted]");
    for (const secret of [token, "s3cr3t", "pa55word", "123456", "rt-xyz"]) {
      expect(logs).not.toContain(secret);
    }
  });

  it("gives every response a request id, keeping a well-formed incoming one", async () => {
    const fresh = await t.app.inject({ method: "GET", url: "/healthz" });
    expect(fresh.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await t.app.inject({
      method: "GET",
      url: "/healthz",
      headers: { "x-request-id": "abc-123" },
    });
    expect(kept.headers["x-request-id"]).toBe("abc-123");
    const replaced = await t.app.inject({
      method: "GET",
      url: "/healthz",
      headers: { "x-request-id": "bad id\nforged" },
    });
    expect(replaced.headers["x-request-id"]).not.toContain("forged");
  });
});
