import type { DerType, TelemetryReading } from "@energy/contracts";

/** Half an hour in ms: intervals start on :00 and :30 UTC. */
export const INTERVAL_MS = 30 * 60 * 1000;

/** The half-hour that contains `ms`. */
export const intervalStartOf = (ms: number): number => Math.floor(ms / INTERVAL_MS) * INTERVAL_MS;

/** The energy columns of an interval. */
export type EnergyColumn = "generationWh" | "importWh" | "exportWh" | "chargeWh" | "dischargeWh";
export const ENERGY_COLUMNS: readonly EnergyColumn[] = [
  "generationWh",
  "importWh",
  "exportWh",
  "chargeWh",
  "dischargeWh",
];

/** The database column of each energy column (energy_interval). */
export const ENERGY_COLUMN_SQL = {
  generationWh: "generation_wh",
  importWh: "import_wh",
  exportWh: "export_wh",
  chargeWh: "charge_wh",
  dischargeWh: "discharge_wh",
} as const satisfies Record<EnergyColumn, string>;

type ReadingType = TelemetryReading["type"];

/** Which cumulative counter of a reading feeds which energy column. */
export const COUNTERS: Record<ReadingType, Partial<Record<string, EnergyColumn>>> = {
  pv: { total_generation_Wh: "generationWh" },
  battery: { total_charge_Wh: "chargeWh", total_discharge_Wh: "dischargeWh" },
  meter: { total_import_Wh: "importWh", total_export_Wh: "exportWh" },
  ev_charger_port: { total_charge_Wh: "chargeWh" },
  v2x_charger: { total_charge_Wh: "chargeWh", total_discharge_Wh: "dischargeWh" },
};

/** The DER type each reading type reports for (a V2X charger's connector is an ev_charger_port DER). */
export const DER_TYPE_OF_READING: Record<ReadingType, DerType> = {
  pv: "solar",
  battery: "battery",
  meter: "meter",
  ev_charger_port: "ev_charger_port",
  v2x_charger: "ev_charger_port",
};

/**
 * The longest time between two readings of a counter over which their energy is spread. Further apart,
 * nobody knows when the energy flowed, and spreading it would touch one half-hour per 30 minutes of the
 * gap (a device clock set to 2000 would make a single reading spread over ~455,000 half-hours, stalling the
 * store): the pair is left out and its energy is attributed to no half-hour. The next pair counts again.
 */
export const MAX_SPREAD_MS = 31 * 24 * 60 * 60 * 1000;

/** One value of one cumulative counter: `at` is the reading's own time (ms), `value` in Wh. */
export type CounterPoint = { at: number; value: number };

/**
 * Energy between two consecutive values of a counter. A counter that went down was reset (device
 * replaced, firmware update, overflow): it restarted from 0, so the energy since is the new value.
 */
export function pairEnergy(from: CounterPoint, to: CounterPoint): number {
  return to.value >= from.value ? to.value - from.value : to.value;
}

/**
 * Adds the energy of every consecutive pair of `points` (sorted by time, no two at the same time) to
 * the half-hours the pair spans, in proportion to the time spent in each. A gap between readings is
 * spread the same way: the counter says how much energy flowed, not exactly when. A pair more than
 * MAX_SPREAD_MS apart is not spread at all.
 * Every half-hour a pair touches gets an entry, even with 0 Wh (so it is known to be covered).
 */
export function splitPairs(
  points: readonly CounterPoint[],
  into = new Map<number, number>(),
): Map<number, number> {
  for (let i = 1; i < points.length; i++) {
    const from = points[i - 1]!;
    const to = points[i]!;
    const span = to.at - from.at;
    if (span <= 0 || span > MAX_SPREAD_MS) continue;
    const energy = pairEnergy(from, to);
    for (let start = intervalStartOf(from.at); start < to.at; start += INTERVAL_MS) {
      const overlap = Math.min(to.at, start + INTERVAL_MS) - Math.max(from.at, start);
      into.set(start, (into.get(start) ?? 0) + (energy * overlap) / span);
    }
  }
  return into;
}

/** Points sorted by time, one per time (the first given wins: a stored value is not replaced). */
function merge(...lists: readonly (readonly CounterPoint[])[]): CounterPoint[] {
  const byTime = new Map<number, CounterPoint>();
  for (const list of lists) for (const point of list) if (!byTime.has(point.at)) byTime.set(point.at, point);
  return [...byTime.values()].sort((a, b) => a.at - b.at);
}

/**
 * How much each half-hour's energy changes when `added` values of one counter join the `stored` ones.
 *
 * `stored` must hold every stored value from the last one before the earliest added value to the
 * first one after the latest added value (fewer when there are none): the pairs that can change.
 * A value at a time already stored is a duplicate and changes nothing. The result may hold negative
 * changes (a late reading between two stored ones moves energy from one half-hour to another) and
 * its sum is the change of the total, which is 0 unless the counter's range grew.
 */
export function intervalDeltas(
  stored: readonly CounterPoint[],
  added: readonly CounterPoint[],
): Map<number, number> {
  const before = merge(stored);
  const after = merge(stored, added);
  const deltas = splitPairs(after);
  for (const [start, wh] of splitPairs(before)) deltas.set(start, (deltas.get(start) ?? 0) - wh);
  return deltas;
}
