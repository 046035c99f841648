import type { z } from "zod";

type Limits = { upper_limit_W?: number[] | null; lower_limit_W?: number[] | null };
type LimitIssue = { path: [string] | [string, number]; message: string };

const UPPER = "upper_limit_W";
const LOWER = "lower_limit_W";

/**
 * Rules of `upper_limit_W` / `lower_limit_W`. Band i is [lower[i], upper[i]]; the charger
 * may run anywhere inside a band, never between bands.
 * - both arrays or neither, with the same, non-zero length;
 * - lower[i] <= upper[i];
 * - bands do not overlap (sorted by lower bound, each starts above the previous one's upper);
 * - `[0]` / `[0]` is the collapsed pair: only 0 W allowed.
 */
export function powerLimitIssues({ upper_limit_W: upper, lower_limit_W: lower }: Limits): LimitIssue[] {
  if (upper == null && lower == null) return [];
  if (upper == null) return [{ path: [UPPER], message: `${UPPER} is required when ${LOWER} is given` }];
  if (lower == null) return [{ path: [LOWER], message: `${LOWER} is required when ${UPPER} is given` }];
  if (upper.length === 0) {
    return [{ path: [UPPER], message: `${UPPER} must not be empty: [0] / [0] means no power allowed` }];
  }
  if (lower.length !== upper.length) {
    const counts = `(${lower.length} vs ${upper.length})`;
    return [{ path: [LOWER], message: `${LOWER} must have as many entries as ${UPPER} ${counts}` }];
  }

  const issues: LimitIssue[] = [];
  const bands = upper.map((up, i) => ({ i, low: lower[i] ?? 0, up }));
  for (const { i, low, up } of bands) {
    if (low > up) {
      issues.push({ path: [LOWER, i], message: `${LOWER}[${i}] (${low}) must be <= ${UPPER}[${i}] (${up})` });
    }
  }
  const sorted = bands.toSorted((a, b) => a.low - b.low);
  for (const [k, band] of sorted.entries()) {
    const previous = sorted[k - 1];
    if (previous && band.low <= previous.up) {
      const overlap = `band [${band.low}, ${band.up}] overlaps band [${previous.low}, ${previous.up}]`;
      issues.push({
        path: [LOWER, band.i],
        message: `${LOWER}[${band.i}]: ${overlap}; power bands must not overlap`,
      });
    }
  }
  return issues;
}

/** For `.superRefine` on the charger models. */
export function checkPowerLimits(reading: Limits, ctx: z.RefinementCtx): void {
  for (const issue of powerLimitIssues(reading)) ctx.addIssue({ code: "custom", ...issue });
}
