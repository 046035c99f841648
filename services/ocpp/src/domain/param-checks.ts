/**
 * Checks of a call's params that the OCPP JSON schemas do not make, for values no charger has reason to
 * send and that would otherwise reach the database or Kafka: nesting deeper than any OCPP message has,
 * text with U+0000 or an unpaired UTF-16 surrogate (PostgreSQL refuses the first, UTF-8 cannot carry the
 * second), and integers beyond OCPP's 32 bits. Pure functions: the central system turns each finding
 * into the CALLERROR its version names (see central/validators.ts).
 */

/** The deepest nesting a call may have (the deepest OCPP 2.0.1 message nests about 8 levels). */
export const MAX_DEPTH = 32;
/** OCPP's integers are 32-bit signed (and so are the columns they are kept in). */
export const INT32_MIN = -2_147_483_648;
export const INT32_MAX = 2_147_483_647;

export type ParamProblem =
  | { kind: "depth"; path: string; message: string }
  | { kind: "text"; path: string; message: string };

const UNPAIRED = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const keyPath = (path: string, key: string | number) =>
  typeof key === "number"
    ? `${path}[${key}]`
    : /^[A-Za-z_$][\w$]*$/.test(key)
      ? `${path}.${key}`
      : `${path}[${JSON.stringify(key)}]`;

/** What is wrong with a text value (or key), or null. */
export function textProblem(value: string): string | null {
  if (value.includes("\u0000")) return "contains U+0000 (NUL)";
  if (UNPAIRED.test(value)) return "contains an unpaired UTF-16 surrogate";
  return null;
}

/**
 * The first problem found in `params` (depth first, then text in values and keys), or null. Iterative,
 * so a hostile 100,000-level document costs no stack.
 */
export function paramProblem(params: unknown, maxDepth = MAX_DEPTH): ParamProblem | null {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [
    { value: params, path: "params", depth: 0 },
  ];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === "string") {
      const problem = textProblem(value);
      if (problem) return { kind: "text", path, message: `${path} ${problem}` };
      continue;
    }
    if (value === null || typeof value !== "object") continue;
    if (depth >= maxDepth) {
      return { kind: "depth", path, message: `${path} nests deeper than ${maxDepth} levels` };
    }
    const entries: Array<[string | number, unknown]> = Array.isArray(value)
      ? value.map((v, i) => [i, v])
      : Object.entries(value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      if (typeof key === "string") {
        const problem = textProblem(key);
        if (problem) return { kind: "text", path, message: `a key of ${path} ${problem}` };
      }
      stack.push({ value: child, path: keyPath(path, key), depth: depth + 1 });
    }
  }
  return null;
}

/**
 * A copy of JSON schemas in which every integer without bounds gets OCPP's 32-bit ones: a value the
 * schema allows as "integer" but no OCPP integer can hold (2^53, 1e308) then fails where it is named.
 */
export function withInt32Bounds<T>(schemas: T): T {
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== "object") return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = visit(value);
    const type = out.type;
    const integer = type === "integer" || (Array.isArray(type) && type.includes("integer"));
    if (integer) {
      if (out.maximum === undefined && out.exclusiveMaximum === undefined) out.maximum = INT32_MAX;
      if (out.minimum === undefined && out.exclusiveMinimum === undefined) out.minimum = INT32_MIN;
    }
    return out;
  };
  return visit(schemas) as T;
}
