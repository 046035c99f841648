/**
 * What is kept of a refused item (stored in rejected_reading.raw and published on reading.rejected): enough to
 * see what the gateway sent, never more than a few kB, and always storable. PostgreSQL jsonb holds no NUL and no
 * lone surrogate, JSON.stringify overflows its stack on deep nesting, and Kafka refuses large messages: so strings
 * are cut and their bad characters written out as visible escapes (`De\u0000ye` → `De\\u0000ye`), nesting is cut,
 * and only the first values of long arrays and objects are kept.
 */
const MAX_DEPTH = 8;
const MAX_STRING = 256;
const MAX_ENTRIES = 50;
/** Values kept in all: bounds the excerpt whatever the item's shape. */
const MAX_VALUES = 400;

const CUT = "…";
const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `\u0000` and lone surrogates written out as text; every other character kept. */
function visibleText(value: string): string {
  const out = value.includes("\u0000") ? value.replaceAll("\u0000", "\\u0000") : value;
  return out.replace(LONE_SURROGATES, (unit) => `\\u${unit.charCodeAt(0).toString(16)}`);
}

export function rawExcerpt(raw: unknown): unknown {
  let budget = MAX_VALUES;
  const visit = (node: unknown, depth: number): unknown => {
    budget--;
    if (typeof node === "string") {
      const cut =
        node.length > MAX_STRING ? `${node.slice(0, MAX_STRING)}${CUT}(${node.length} chars)` : node;
      // cutting may split a surrogate pair: visibleText writes the half out
      return visibleText(cut);
    }
    if (typeof node !== "object" || node === null) return node;
    if (depth >= MAX_DEPTH || budget <= 0) return CUT;
    if (Array.isArray(node)) {
      const kept = node.slice(0, MAX_ENTRIES).map((child) => (budget > 0 ? visit(child, depth + 1) : CUT));
      return node.length > MAX_ENTRIES ? [...kept, `${CUT}(${node.length} items)`] : kept;
    }
    const entries = Object.entries(node);
    const kept: Record<string, unknown> = {};
    for (const [key, child] of entries.slice(0, MAX_ENTRIES)) {
      kept[visibleText(key.slice(0, MAX_STRING))] = budget > 0 ? visit(child, depth + 1) : CUT;
    }
    if (entries.length > MAX_ENTRIES) kept[CUT] = `${entries.length} keys`;
    return kept;
  };
  return visit(raw ?? null, 0);
}
