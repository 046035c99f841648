/**
 * Splits `total` whole units over `weights` in proportion, in whole units that add up to `total` exactly
 * (largest remainder; ties go to the earlier weight). All weights zero: everything to the first.
 */
export function apportion(total: bigint, weights: readonly bigint[]): bigint[] {
  if (weights.length === 0) return [];
  const sum = weights.reduce((a, b) => a + b, 0n);
  if (sum === 0n) return weights.map((_, i) => (i === 0 ? total : 0n));
  const shares = weights.map((w) => (total * w) / sum);
  let left = total - shares.reduce((a, b) => a + b, 0n);
  const order = weights
    .map((w, i) => ({ i, remainder: (total * w) % sum }))
    .sort((a, b) => (a.remainder === b.remainder ? a.i - b.i : a.remainder > b.remainder ? -1 : 1));
  for (const { i } of order) {
    if (left === 0n) break;
    shares[i]! += 1n;
    left -= 1n;
  }
  return shares;
}

const HOUR_MS = 3_600_000;

/** The hours [start, end) touches, each with the milliseconds of it inside. */
export function hoursOf(startMs: number, endMs: number): Array<{ hourStartMs: number; ms: number }> {
  const out: Array<{ hourStartMs: number; ms: number }> = [];
  for (let hour = Math.floor(startMs / HOUR_MS) * HOUR_MS; hour < endMs; hour += HOUR_MS) {
    const ms = Math.min(endMs, hour + HOUR_MS) - Math.max(startMs, hour);
    if (ms > 0) out.push({ hourStartMs: hour, ms });
  }
  return out;
}
