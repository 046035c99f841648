import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { FastifyPluginAsyncZod } from "../src/index.ts";
import { inspectInput, mayHoldUnsafeText } from "../src/index.ts";
import { buildTestApp, signToken, type TestApp } from "./helpers.ts";

const seen: unknown[] = [];
const routes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    "/notes/:noteId",
    {
      schema: {
        params: z.object({ noteId: z.string().max(50) }),
        querystring: z.object({ tag: z.string().max(50).optional() }),
        body: z.object({ title: z.string().max(100), extra: z.unknown().optional() }),
      },
    },
    async (request) => {
      seen.push(request.body);
      return { ok: true };
    },
  );
  app.post("/raw-items", { config: { rawBodyText: true } }, async (request) => ({ items: request.body }));
};

let t: TestApp;
const headers = { authorization: `Bearer ${signToken()}` };
beforeAll(async () => {
  t = await buildTestApp({ routes });
});
afterAll(() => t.app.close());

// arrays: the test app's body limit is 1 KiB (the registry test sends 10,000 levels)
const deep = (levels: number) => `${"[".repeat(levels)}1${"]".repeat(levels)}`;

describe("text at the edge", () => {
  const refused: Array<[string, { url: string; payload?: string }, string]> = [
    ["a NUL in a body string", { url: "/notes/n1", payload: '{"title":"a\\u0000b"}' }, "body.title"],
    [
      "a lone surrogate in a body string",
      { url: "/notes/n1", payload: '{"title":"a\\ud800"}' },
      "body.title",
    ],
    ["a lone low surrogate", { url: "/notes/n1", payload: '{"title":"\\udc00z"}' }, "body.title"],
    [
      "a NUL deep in a free-form field",
      { url: "/notes/n1", payload: '{"title":"t","extra":{"list":[1,{"x":"\\u0000"}]}}' },
      "body.extra.list.1.x",
    ],
    [
      "a NUL in a key",
      { url: "/notes/n1", payload: '{"title":"t","extra":{"a\\u0000":1}}' },
      'body.extra."a\\u0000"',
    ],
    ["%00 in a path parameter", { url: "/notes/n%001", payload: '{"title":"t"}' }, "params.noteId"],
    ["%00 in a query string", { url: "/notes/n1?tag=a%00", payload: '{"title":"t"}' }, "querystring.tag"],
  ];

  it.each(refused)("refuses %s with a 400 naming the field", async (_name, request, path) => {
    const res = await t.app.inject({
      method: "POST",
      url: request.url,
      headers: { ...headers, "content-type": "application/json" },
      payload: request.payload,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.code).toBe("validation_failed");
    expect(res.json().error.fields).toEqual([{ path, message: expect.stringMatching(/NUL|surrogate/) }]);
    // the answer itself is valid JSON text without the bad character
    expect(res.body).not.toContain("\u0000");
  });

  it.each([
    ["a path that is not UTF-8 (a lone surrogate's bytes)", "/notes/%ED%A0%80", "bad_url"],
    ["a malformed escape", "/notes/%ZZ", "bad_url"],
    ["a path parameter over the router's limit", `/notes/${"n".repeat(2000)}`, "path_too_long"],
  ])("answers %s with a coded 400", async (_name, url, code) => {
    const res = await t.app.inject({ method: "POST", url, headers, payload: { title: "t" } });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.code).toBe(code);
  });

  it("reads a body's invalid UTF-8 (a lone surrogate's bytes) as U+FFFD, so only \\u escapes need a look", async () => {
    // the premise of mayHoldUnsafeText: raw bytes cannot smuggle a lone surrogate past the one-scan check
    seen.length = 0;
    const res = await t.app.inject({
      method: "POST",
      url: "/notes/n1",
      headers: { ...headers, "content-type": "application/json" },
      payload: Buffer.concat([
        Buffer.from('{"title":"a'),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from('b"}'),
      ]),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(seen).toEqual([{ title: "a\ufffd\ufffd\ufffdb" }]);
  });

  it("accepts paired surrogates (emoji) and other text", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/notes/n%C3%A51?tag=%F0%9F%8C%9E",
      headers,
      payload: { title: "Solar ☀️ 🌞 Åre", extra: { ключ: ["日本"] } },
    });
    expect(res.statusCode, res.body).toBe(200);
  });

  it("refuses JSON nested too deep with a 400 naming where, and accepts 30 levels", async () => {
    const tooDeep = await t.app.inject({
      method: "POST",
      url: "/notes/n1",
      headers: { ...headers, "content-type": "application/json" },
      payload: `{"title":"t","extra":${deep(400)}}`,
    });
    expect(tooDeep.statusCode, tooDeep.body).toBe(400);
    expect(tooDeep.json().error.message).toMatch(/body\.extra(\.0)+: is nested too deep: at most 32 levels/);

    const fine = await t.app.inject({
      method: "POST",
      url: "/notes/n1",
      headers: { ...headers, "content-type": "application/json" },
      payload: `{"title":"t","extra":${deep(30)}}`,
    });
    expect(fine.statusCode, fine.body).toBe(200);
    expect((await t.app.inject({ url: "/healthz" })).statusCode).toBe(200);
  });

  it("keeps fastify's prototype-poisoning refusal", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/notes/n1",
      headers: { ...headers, "content-type": "application/json" },
      payload: '{"title":"t","__proto__":{"admin":true}}',
    });
    expect(res.statusCode).toBe(400);
  });

  it("lets a route that refuses item by item take bad text, but still limits depth", async () => {
    const raw = await t.app.inject({
      method: "POST",
      url: "/raw-items",
      headers: { ...headers, "content-type": "application/json" },
      payload: '[{"make":"De\\u0000ye"}]',
    });
    expect(raw.statusCode, raw.body).toBe(200);
    expect(raw.json()).toEqual({ items: [{ make: "De\u0000ye" }] });
    const deepRaw = await t.app.inject({
      method: "POST",
      url: "/raw-items",
      headers: { ...headers, "content-type": "application/json" },
      payload: `[${deep(400)}]`,
    });
    expect(deepRaw.statusCode).toBe(400);
  });
});

describe("inspectInput", () => {
  it.each([
    [{ a: "ok", b: [1, 2, { c: "fine" }] }, null],
    [["x", "y\u0000"], "item.1"],
    [{ "a b": { c: "\ud83d" } }, 'item."a b".c'],
    [{ a: "\ud83d\ude00" }, null],
  ])("%j → %s", (value, path) => {
    expect(inspectInput(value, { root: "item" })?.path ?? null).toBe(path);
  });

  it("names the first problem in document order, where there are several", () => {
    const value = { a: [1, { b: "fine" }], c: { d: "x\u0000", e: "\ud800" }, f: "\u0000" };
    expect(inspectInput(value, { root: "body" })).toEqual({
      path: "body.c.d",
      message: "must not contain a NUL character (\\u0000)",
    });
    expect(inspectInput(value, { root: "body", text: false })).toBeNull();
    expect(inspectInput({ a: [[[1]]] }, { root: "body", maxDepth: 3 })?.path).toBe("body.a.0.0");
  });
});

describe("mayHoldUnsafeText", () => {
  it.each([
    ['{"title":"plain"}', false],
    ['{"title":"Solar ☀️ 🌞"}', false],
    ['{"title":"a\\u0000b"}', true],
    ['{"title":"\\ud800"}', true],
    ['{"title":"\\u00e9"}', true],
    // conservative: an escaped backslash before a u is looked at string by string too
    ['{"path":"C:\\\\users"}', true],
  ])("%s → %s", (json, expected) => {
    expect(mayHoldUnsafeText(json)).toBe(expected);
  });
});
