/**
 * Gas tiers from the chain's fee history (EIP-1559). A tier is how long a certificate may wait to be
 * mined: fast (about 30 s), standard (5 min), slow (30 min, and it may not be mined at all while fees
 * are high). Each tier takes a percentile of the priority fees recent blocks paid and headroom over the
 * next block's base fee; the configured caps are never exceeded, replacements included.
 */
export type Tier = "fast" | "standard" | "slow";
export const TIERS: readonly Tier[] = ["fast", "standard", "slow"];

/** Percentiles asked of eth_feeHistory, in this order; a tier reads its own column. */
export const FEE_PERCENTILES = [10, 50, 90] as const;
const COLUMN: Record<Tier, number> = { slow: 0, standard: 1, fast: 2 };

const GWEI = 1_000_000_000n;
/** Least tip per tier (an idle chain pays none at every percentile; a zero tip may wait behind others). */
const MIN_PRIORITY: Record<Tier, bigint> = { fast: 2n * GWEI, standard: GWEI, slow: GWEI / 10n };
/** Headroom over the next base fee, in 1/8ths: the base fee may grow 12.5% per full block. */
const BASE_EIGHTHS: Record<Tier, bigint> = { fast: 16n, standard: 12n, slow: 9n };

export interface FeeHistory {
  /** One per block, plus the next block's (last). */
  baseFeePerGas: bigint[];
  /** Per block: the priority fee at each of FEE_PERCENTILES. */
  reward: bigint[][];
  /** Per block: gas used / gas limit (0: an empty block, whose rewards say nothing). */
  gasUsedRatio?: number[];
}

export interface FeeCaps {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** The tier's percentile across blocks too: slow the 10th, standard the median, fast the 90th. */
const ACROSS: Record<Tier, number> = { slow: 10, standard: 50, fast: 90 };
const percentile = (values: bigint[], p: number): bigint => {
  if (values.length === 0) return 0n;
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? sorted[0]!;
};
const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * The fees of a tier now: the tip is the tier's percentile, within each block and then across the
 * blocks that had transactions, at least the tier's floor; the max fee adds headroom over the next
 * block's base fee; both capped.
 */
export function feesForTier(history: FeeHistory, tier: Tier, caps: FeeCaps): Fees {
  const nextBase = history.baseFeePerGas.at(-1) ?? 0n;
  const tips = history.reward
    .filter((_, i) => (history.gasUsedRatio?.[i] ?? 1) > 0)
    .map((row) => row[COLUMN[tier]] ?? 0n);
  const tip = min(max(percentile(tips, ACROSS[tier]), MIN_PRIORITY[tier]), caps.maxPriorityFeePerGas);
  return capped(
    { maxFeePerGas: (nextBase * BASE_EIGHTHS[tier]) / 8n + tip, maxPriorityFeePerGas: tip },
    caps,
  );
}

function capped(fees: Fees, caps: FeeCaps): Fees {
  const maxFeePerGas = min(fees.maxFeePerGas, caps.maxFeePerGas);
  return {
    maxFeePerGas,
    maxPriorityFeePerGas: min(min(fees.maxPriorityFeePerGas, caps.maxPriorityFeePerGas), maxFeePerGas),
  };
}

/** Nodes accept a replacement (same nonce) only when both fees rise by at least 10%; we bump 12.5%. */
const bumped = (value: bigint) => (value * 9n + 7n) / 8n;

/**
 * The fees of a replacement for a transaction stuck at `previous`: at least 12.5% more on both fees
 * (what nodes require), or the tier's current fees when higher, within the caps. null when the caps leave
 * no room to bump: the transaction then waits at its fees (it is never priced above the cap).
 */
export function replacementFees(previous: Fees, current: Fees, caps: FeeCaps): Fees | null {
  const wanted = capped(
    {
      maxFeePerGas: max(bumped(previous.maxFeePerGas), current.maxFeePerGas),
      maxPriorityFeePerGas: max(bumped(previous.maxPriorityFeePerGas), current.maxPriorityFeePerGas),
    },
    caps,
  );
  const enough = (next: bigint, prev: bigint) => next * 10n >= prev * 11n;
  if (!enough(wanted.maxFeePerGas, previous.maxFeePerGas)) return null;
  if (!enough(wanted.maxPriorityFeePerGas, previous.maxPriorityFeePerGas)) return null;
  return wanted;
}

export const gweiToWei = (gwei: number): bigint => BigInt(Math.round(gwei * 1e9));
