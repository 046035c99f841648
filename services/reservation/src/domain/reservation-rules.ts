import type { ErrorCodeOfStatus } from "@energy/service-kit";
import { getAddress } from "ethers";

/** After a reservation ends (or a device leaves it) the device stays unavailable this long. */
export const COOL_DOWN_MS = 12 * 3_600_000;

/** How far in the past a reservation's start (or end) may be: 12 calendar months. */
export const MAX_PAST_MONTHS = 12;

export interface Problem {
  field: string;
  /** a 400 code of the catalog (service-kit error-codes) */
  code: ErrorCodeOfStatus<400>;
  message: string;
}

/** The earliest allowed start: the same instant 12 calendar months before `now`. */
export function earliestStart(now: Date): Date {
  const earliest = new Date(now);
  earliest.setUTCMonth(earliest.getUTCMonth() - MAX_PAST_MONTHS);
  return earliest;
}

/**
 * The reservation period's rules (D-REC Buyer Reservation v1): the start may be in the past by at most 12
 * months (its past windows are requested at once); the end must be after the start, and an end already in
 * the past is an error (the seed's "target end date before the current date … flag this as an error"), the
 * stricter of the seed's two statements, so a reservation always has a future to issue in.
 */
export function periodProblems(start: Date, end: Date, now: Date): Problem[] {
  const problems: Problem[] = [];
  const earliest = earliestStart(now);
  if (start < earliest) {
    problems.push({
      field: "reservationStartDate",
      code: "start_too_far_in_past",
      message: `may be at most ${MAX_PAST_MONTHS} months in the past (not before ${earliest.toISOString()})`,
    });
  }
  if (end <= start) {
    problems.push({
      field: "reservationEndDate",
      code: "end_before_start",
      message: "must be after the start",
    });
  } else if (end <= now) {
    problems.push({
      field: "reservationEndDate",
      code: "end_in_past",
      message: "is already past: a reservation must end in the future",
    });
  }
  return problems;
}

/**
 * A blockchain address as the certificates' owner: 0x and 40 hex digits; all-lower or all-upper case
 * carries no checksum, mixed case must be a valid EIP-55 checksum. Returns the checksummed form.
 */
export function checkAddress(address: string): { address: string } | { problem: Problem } {
  const field = "blockchainAddress";
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) {
    return { problem: { field, code: "invalid_address", message: "must be 0x followed by 40 hex digits" } };
  }
  const hex = address.slice(2);
  const mixed = hex !== hex.toLowerCase() && hex !== hex.toUpperCase();
  try {
    const checksummed = getAddress(mixed ? address : `0x${hex.toLowerCase()}`);
    if (mixed && checksummed !== address) throw new Error("checksum");
    return { address: checksummed };
  } catch {
    return {
      problem: {
        field,
        code: "invalid_address_checksum",
        message: "mixed-case address fails its EIP-55 checksum",
      },
    };
  }
}

/** MWh as the API takes them → whole Wh (1 MWh = 1,000,000 Wh; finer than 1 Wh is rounded to the Wh). */
/**
 * The largest target volume a request may name, in MWh (a petawatt-hour, far beyond any reservation): in
 * Wh it stays an exact number (below 2^53) and a PostgreSQL bigint. Larger values are refused as input.
 */
export const MAX_TARGET_MWH = 1_000_000_000;
/** The largest target capacity of a grouping request, in kW (a terawatt). */
export const MAX_TARGET_CAPACITY_KW = 1_000_000_000;

export const mwhToWh = (mwh: number): bigint => BigInt(Math.round(mwh * 1_000_000));

/** Wh → MWh for the API's counters (a number; exact up to 2^53 Wh). */
export const whToMwh = (wh: bigint | number): number => Number(wh) / 1_000_000;

/** Hours between two instants (fractional). */
export const hoursBetween = (start: Date, end: Date): number => (end.getTime() - start.getTime()) / 3_600_000;

/** What the devices could produce at most in the period: Σ capacity × hours, in Wh. */
export function capacityInPeriodWh(capacitiesW: readonly (number | null)[], start: Date, end: Date): bigint {
  const hours = hoursBetween(start, end);
  return BigInt(Math.round(capacitiesW.reduce<number>((sum, w) => sum + (w ?? 0), 0) * hours));
}

/**
 * What a device is expected to produce in a period: capacity × hours × the plausibility yield as a
 * capacity factor (kWh per kWp per year / 8,760 h; 1,500 kWh/kWp/year ≈ 17 %, a sunny site's PV).
 */
export function expectedProductionWh(
  capacityW: number | null,
  start: Date,
  end: Date,
  yieldKwhPerKwpYear: number,
): number {
  if (!capacityW) return 0;
  return Math.round(capacityW * hoursBetween(start, end) * (yieldKwhPerKwpYear / 8_760));
}

/** Why a device cannot be reserved now, or null when it can. */
export type Unavailability =
  | { reason: "unknown_device" }
  | { reason: "reserved"; reservationId: string; byThisBuyer: boolean }
  | { reason: "cooling_down"; availableAgainAt: Date };

export function deviceAvailability(
  lock: { reservationId: string; lockedUntil: Date | null } | null,
  now: Date,
  buyerReservationIds: ReadonlySet<string>,
): Unavailability | null {
  if (!lock) return null;
  if (lock.lockedUntil === null) {
    return {
      reason: "reserved",
      reservationId: lock.reservationId,
      byThisBuyer: buyerReservationIds.has(lock.reservationId),
    };
  }
  if (lock.lockedUntil > now) return { reason: "cooling_down", availableAgainAt: lock.lockedUntil };
  return null;
}

/** The message a buyer reads for a device that was left out. */
export function unavailabilityMessage(u: Unavailability): string {
  switch (u.reason) {
    case "unknown_device":
      return "no such device";
    case "reserved":
      return u.byThisBuyer
        ? `already in your reservation ${u.reservationId}`
        : "reserved by another buyer (a device has one buyer at a time)";
    case "cooling_down":
      return `in its 12-hour cool-down after a reservation; available again at ${u.availableAgainAt.toISOString()}`;
  }
}
