import { badRequest } from "@energy/service-kit";

/**
 * The items of a telemetry batch: a JSON array, or NDJSON (one JSON item per line, blank lines
 * ignored). A batch that cannot be read at all is refused whole (400 naming the line); a readable
 * item that is wrong is refused on its own, with the others accepted.
 */
export function parseBatchBody(text: string, maxItems: number): unknown[] {
  const trimmed = text.trimStart();
  let items: unknown[];
  if (trimmed.startsWith("[")) {
    try {
      items = JSON.parse(trimmed) as unknown[];
    } catch (error) {
      throw badRequest("invalid_json", `the batch is not valid JSON: ${(error as Error).message}`);
    }
  } else {
    items = [];
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (!line) continue;
      try {
        items.push(JSON.parse(line));
      } catch (error) {
        throw badRequest(
          "invalid_json",
          `line ${i + 1} of the NDJSON batch is not valid JSON: ${(error as Error).message}`,
        );
      }
    }
  }
  return checkBatchSize(items, maxItems);
}

/** A batch is an array of 1..maxItems items. */
export function checkBatchSize(items: unknown, maxItems: number): unknown[] {
  if (!Array.isArray(items))
    throw badRequest("invalid_batch", "the batch must be a JSON array of items or NDJSON");
  if (items.length === 0) throw badRequest("invalid_batch", "the batch has no items");
  if (items.length > maxItems) {
    throw badRequest(
      "batch_too_large",
      `the batch has ${items.length} items; at most ${maxItems} are accepted at once`,
    );
  }
  return items;
}
