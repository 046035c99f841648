import { describe, expect, it } from "vitest";
import { oversizedFrame } from "../src/domain/frames.ts";
import {
  INT32_MAX,
  INT32_MIN,
  paramProblem,
  textProblem,
  withInt32Bounds,
} from "../src/domain/param-checks.ts";

const nested = (levels: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
};

describe("paramProblem", () => {
  it.each<[string, unknown, { kind: string; path: string } | null]>([
    ["plain params", { idTag: "TAG-1", meterStart: 5 }, null],
    ["32 levels", nested(31), null],
    [
      "33 levels",
      nested(33),
      { kind: "depth", path: "params.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a" },
    ],
    [
      "100,000 levels (no stack used)",
      nested(100_000),
      { kind: "depth", path: expect.stringMatching(/^params(\.a){32}$/) as never },
    ],
    ["NUL in a value", { idTag: "a\u0000b" }, { kind: "text", path: "params.idTag" }],
    ["NUL in an array item", { keys: ["ok", "\u0000"] }, { kind: "text", path: "params.keys[1]" }],
    ["a lone high surrogate", { v: "x\ud800" }, { kind: "text", path: "params.v" }],
    ["a lone low surrogate", { v: "\udc00x" }, { kind: "text", path: "params.v" }],
    ["a surrogate pair is fine", { v: "😀" }, null],
    ["NUL in a key", { "a\u0000": 1 }, { kind: "text", path: "params" }],
    ["a key that is not an identifier", { "a b": "\u0000" }, { kind: "text", path: 'params["a b"]' }],
  ])("%s", (_name, params, expected) => {
    const problem = paramProblem(params);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatchObject(expected);
  });

  it("names the problem in its message", () => {
    expect(textProblem("a\u0000")).toMatch(/NUL/);
    expect(textProblem("\ud800")).toMatch(/surrogate/);
    expect(textProblem("fine")).toBeNull();
  });
});

describe("withInt32Bounds", () => {
  it("bounds every integer without bounds, keeps the bounds a schema has, leaves other types alone", () => {
    const schema = {
      type: "object",
      properties: {
        a: { type: "integer" },
        b: { type: "integer", minimum: 0 },
        c: { type: "number" },
        d: { type: "array", items: { type: ["integer", "null"] } },
      },
    };
    expect(withInt32Bounds(schema)).toEqual({
      type: "object",
      properties: {
        a: { type: "integer", minimum: INT32_MIN, maximum: INT32_MAX },
        b: { type: "integer", minimum: 0, maximum: INT32_MAX },
        c: { type: "number" },
        d: { type: "array", items: { type: ["integer", "null"], minimum: INT32_MIN, maximum: INT32_MAX } },
      },
    });
    expect(schema.properties.a).toEqual({ type: "integer" }); // a copy: the original is untouched
  });
});

describe("oversizedFrame", () => {
  const big = (prefix: string) => Buffer.from(`${prefix}${"x".repeat(200)}"}]`);
  it.each<[string, Buffer, unknown]>([
    ["within the limit", Buffer.from('[2,"m1","Heartbeat",{}]'), null],
    [
      "a CALL over it: answered with its id",
      big('[2,"m-7","Authorize",{"idTag":"'),
      [4, "m-7", "FormatViolation"],
    ],
    ["spaces before the id", big('[ 2 , "m-8" ,"Authorize",{"idTag":"'), [4, "m-8", "FormatViolation"]],
    ["an escaped id", big('[2,"m\\"9","Authorize",{"idTag":"'), [4, 'm"9', "FormatViolation"]],
    ["no readable id: -1", big('{"not":"a call","x":"'), [4, "-1", "FormatViolation"]],
    ["a CALLRESULT: not answered", big('[3,"m-10",{"x":"'), "no answer"],
    ["a CALLERROR: not answered", big('[4,"m-11","GenericError","'), "no answer"],
  ])("%s", (_name, frame, expected) => {
    const refusal = oversizedFrame(frame, 100);
    if (expected === null) return expect(refusal).toBeNull();
    if (expected === "no answer") return expect(refusal).toEqual({ answer: null });
    const answer = JSON.parse(refusal!.answer!) as unknown[];
    expect(answer.slice(0, 3)).toEqual(expected);
    expect(answer[3]).toMatch(/over the limit of 100/);
  });
});
