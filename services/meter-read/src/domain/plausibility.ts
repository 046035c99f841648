/**
 * Could the device have produced this much energy in this period? (D-REC "Validation formula for DELTA",
 * made dimensionally sound; the reasoning is in the service README.)
 *
 * - Physical limit: capacity × hours × (1 − 0.005)^age. A device cannot produce more than its nameplate
 *   for every hour of the period, less its degradation. A read above it (with the margin) is refused.
 * - Yield expectation: capacity × hours × yield / 8760 × (1 − 0.005)^age, yield in kWh per kW per year
 *   (the device's yieldValue, else 1500). A read above it (with the margin) is stored but flagged.
 * - The margin as the seed writes it: the read is compared as round(read × 1.2).
 * - Capacity: the one in force during each part of the period (the device log), not today's.
 * - Age: in years from the commissioning date to the start of each part of the period (never below 0);
 *   the start, not the end, so the limit is the most the device could have produced (a check that
 *   refuses must not refuse energy that was possible).
 */

export const DEGRADATION_PER_YEAR = 0.005;
export const DEFAULT_YIELD_KWH_PER_KW = 1500;
export const HOURS_PER_YEAR = 8760;
const YEAR_MS = 365.25 * 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;

/** One entry of the device's capacity log: `capacityW` in force from `fromMs` until the next entry. */
export interface CapacityEntry {
  fromMs: number;
  capacityW: number;
}

export interface DeviceCapacity {
  /** Ordered by fromMs; the first entry is in force before its fromMs too (the registration snapshot). */
  capacityLog: readonly CapacityEntry[];
  /** Start of the commissioning date in the device's time zone; null when unknown (age 0). */
  commissionedMs: number | null;
  /** kWh per kW per year; null: the default 1500. */
  yieldKwhPerKw: number | null;
}

export interface EnergyLimits {
  physicalWh: number;
  yieldWh: number;
}

/** The capacity in force over [startMs, endMs) in parts: [{ startMs, endMs, capacityW }]. */
export function capacityParts(log: readonly CapacityEntry[], startMs: number, endMs: number) {
  const parts: Array<{ startMs: number; endMs: number; capacityW: number }> = [];
  if (log.length === 0 || endMs <= startMs) return parts;
  for (let i = 0; i < log.length; i++) {
    const from = i === 0 ? Number.NEGATIVE_INFINITY : log[i]!.fromMs;
    const until = i + 1 < log.length ? log[i + 1]!.fromMs : Number.POSITIVE_INFINITY;
    const s = Math.max(from, startMs);
    const e = Math.min(until, endMs);
    if (e > s) parts.push({ startMs: s, endMs: e, capacityW: log[i]!.capacityW });
  }
  return parts;
}

/** The physical limit of one part of a period: capacity × hours × (1 − 0.005)^age at its start. */
function partWh(device: DeviceCapacity, startMs: number, endMs: number, capacityW: number): number {
  const ageYears =
    device.commissionedMs === null ? 0 : Math.max(0, (startMs - device.commissionedMs) / YEAR_MS);
  const hours = (endMs - startMs) / HOUR_MS;
  return capacityW * hours * (1 - DEGRADATION_PER_YEAR) ** ageYears;
}

/** The limits of [startMs, endMs), in Wh (not rounded); null when the capacity is unknown. */
export function energyLimits(device: DeviceCapacity, startMs: number, endMs: number): EnergyLimits | null {
  if (device.capacityLog.length === 0) return null;
  const yieldFactor = (device.yieldKwhPerKw ?? DEFAULT_YIELD_KWH_PER_KW) / HOURS_PER_YEAR;
  let physicalWh = 0;
  if (device.capacityLog.length === 1) {
    // One capacity (most devices): the one part capacityParts would make, without making it.
    if (endMs > startMs) physicalWh = partWh(device, startMs, endMs, device.capacityLog[0]!.capacityW);
  } else {
    for (const part of capacityParts(device.capacityLog, startMs, endMs))
      physicalWh += partWh(device, part.startMs, part.endMs, part.capacityW);
  }
  return { physicalWh, yieldWh: physicalWh * yieldFactor };
}

/** The read with the seed's 20 % margin: round(read × 1.2), in integers. */
export const withMargin = (energyWh: number): number => Math.round((energyWh * 6) / 5);

export type Plausibility = "ok" | "above_yield_expectation" | "above_physical_limit";

export function plausibility(energyWh: number, limits: EnergyLimits): Plausibility {
  const read = withMargin(energyWh);
  if (read > limits.physicalWh) return "above_physical_limit";
  if (read > limits.yieldWh) return "above_yield_expectation";
  return "ok";
}
