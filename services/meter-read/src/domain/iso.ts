/**
 * An instant as ISO 8601 (toISOString), remembered: a request's 10,000 reads name ~10,000 instants (hourly
 * reads share their ends and starts), each written in the content hash, the insert and the event.
 */
const cache = new Map<number, string>();
const MAX_CACHED = 100_000;

export function isoOf(ms: number): string {
  let text = cache.get(ms);
  if (text === undefined) {
    text = new Date(ms).toISOString();
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(ms, text);
  }
  return text;
}
