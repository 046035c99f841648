import type { FastifyInstance, FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The body's strings reach the handler unchecked for NUL and lone surrogates: the handler refuses bad text
     * itself (ingestion refuses a telemetry item on its own, not the whole batch). The depth limit still applies.
     */
    rawBodyText?: boolean;
  }
}

/** Deepest JSON accepted by default: far beyond any document the platform stores, far below a stack overflow. */
export const DEFAULT_JSON_MAX_DEPTH = 32;

/** Where a request's input is bad and why, as the 400's `fields` name it (`body.extra.name`, `params.siteId`). */
export type InputProblem = { path: string; message: string };

/**
 * A request refused before validation: a string or key with a NUL or a lone surrogate, or JSON nested too deep.
 * Answered as a 400 validation_failed naming the field, like a schema refusal.
 */
export class UnsafeInputError extends Error {
  override readonly name = "UnsafeInputError";
  readonly statusCode = 400;
  constructor(readonly fields: InputProblem[]) {
    super(fields.map((f) => `${f.path}: ${f.message}`).join("; "));
  }
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why a string cannot be stored as text, if it cannot: PostgreSQL text and jsonb hold no NUL, and a lone
 * UTF-16 surrogate (`\ud800` without its pair) is not Unicode, so it has no UTF-8 form for the database,
 * Kafka or any client.
 */
export function unsafeTextReason(value: string): string | null {
  if (value.includes("\u0000")) return "must not contain a NUL character (\\u0000)";
  if (LONE_SURROGATE.test(value))
    return "must not contain a lone surrogate (\\ud800-\\udfff without its pair)";
  return null;
}

export type InspectOptions = {
  /** Name of the root in the problem's path: `body`, `params`, `querystring`, `item`. */
  root: string;
  /** Deepest nesting of objects and arrays allowed (the root object is level 1). */
  maxDepth?: number;
  /** Check strings and keys for NUL and lone surrogates; default true. */
  text?: boolean;
};

const keySegment = (key: string) => (/^[A-Za-z0-9_$-]+$/.test(key) ? key : JSON.stringify(key));

/**
 * The first problem in a parsed JSON value (strings and object keys with NUL or lone surrogates; nesting
 * deeper than `maxDepth`), or null. Never recurses deeper than `maxDepth`, so a hostile document cannot
 * exhaust the stack here.
 *
 * A first pass only looks (no path is built: a body of 10,000 meter reads has ~60,000 values, and naming
 * each one's path cost more than checking it); only when it finds a problem does a second pass walk again
 * and name where.
 */
export function inspectInput(value: unknown, opts: InspectOptions): InputProblem | null {
  const maxDepth = opts.maxDepth ?? DEFAULT_JSON_MAX_DEPTH;
  const text = opts.text ?? true;
  if (isClean(value, 0, maxDepth, text)) return null;
  return locate(value, opts.root, 0, maxDepth, text);
}

/** True when nothing in `node` is too deep or bad text (the first pass: no paths, no allocations). */
function isClean(node: unknown, depth: number, maxDepth: number, text: boolean): boolean {
  if (typeof node === "string") return !text || unsafeTextReason(node) === null;
  if (typeof node !== "object" || node === null) return true;
  if (depth >= maxDepth) return false;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) if (!isClean(node[i], depth + 1, maxDepth, text)) return false;
    return true;
  }
  for (const key in node) {
    if (!Object.hasOwn(node, key)) continue;
    if (text && unsafeTextReason(key) !== null) return false;
    if (!isClean((node as Record<string, unknown>)[key], depth + 1, maxDepth, text)) return false;
  }
  return true;
}

/** The first problem with its path (the second pass, run only when the first found one). */
function locate(
  node: unknown,
  path: string,
  depth: number,
  maxDepth: number,
  text: boolean,
): InputProblem | null {
  if (typeof node === "string") {
    const reason = text ? unsafeTextReason(node) : null;
    return reason ? { path, message: reason } : null;
  }
  if (typeof node !== "object" || node === null) return null;
  if (depth >= maxDepth) {
    return {
      path,
      message: `is nested too deep: at most ${maxDepth} levels of objects and arrays are accepted`,
    };
  }
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const problem = locate(node[i], `${path}.${i}`, depth + 1, maxDepth, text);
      if (problem) return problem;
    }
    return null;
  }
  for (const [key, child] of Object.entries(node)) {
    const keyReason = text ? unsafeTextReason(key) : null;
    if (keyReason) return { path: `${path}.${JSON.stringify(key)}`, message: `key ${keyReason}` };
    const problem = locate(child, `${path}.${keySegment(key)}`, depth + 1, maxDepth, text);
    if (problem) return problem;
  }
  return null;
}

/**
 * Whether a JSON text can hold a string with a NUL or a lone surrogate once parsed: only through a `\u`
 * escape. A raw NUL is not valid JSON (JSON.parse refuses control characters), and text decoded from UTF-8
 * has no lone surrogates (an invalid sequence is decoded as U+FFFD). A body without `\u` has its text
 * checked by this one scan instead of string by string.
 */
export function mayHoldUnsafeText(json: string): boolean {
  return json.includes("\\u");
}

/**
 * Text is checked once, at the edge, for every route of every service:
 * - JSON bodies are parsed by fastify's own parser (prototype-poisoning protection kept) and walked once for
 *   depth and bad characters (unless the route sets `config: { rawBodyText: true }`, then for depth only);
 * - path parameters and query strings are checked before validation (`%00` in a path never reaches a query).
 */
export function installInputSafety(app: FastifyInstance, opts: { maxDepth: number }): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    parseJson(request, body as string, (error, parsed) => {
      if (error) return done(error, undefined);
      const problem = inspectInput(parsed, {
        root: "body",
        maxDepth: opts.maxDepth,
        text: request.routeOptions.config.rawBodyText !== true && mayHoldUnsafeText(body as string),
      });
      if (problem) return done(new UnsafeInputError([problem]), undefined);
      done(null, parsed);
    });
  });

  app.addHook("preValidation", async (request: FastifyRequest) => {
    const fields: InputProblem[] = [];
    for (const [root, value] of [
      ["params", request.params],
      ["querystring", request.query],
    ] as const) {
      const problem = inspectInput(value, { root, maxDepth: opts.maxDepth });
      if (problem) fields.push(problem);
    }
    if (fields.length > 0) throw new UnsafeInputError(fields);
  });
}
