import { hash } from "node:crypto";
import type { ReadFlag, ReadSource, ReadType } from "@energy/contracts";
import { isoOf } from "./iso.ts";
import { type DeviceCapacity, energyLimits, plausibility } from "./plausibility.ts";
import { type SourceLog, sourceMismatch } from "./read-source.ts";
import { type EnergyUnit, toWholeWh } from "./units.ts";

/**
 * The D-REC meter-read rules over one device's batch, as a pure function: what the device already has
 * goes in, the outcome of every read and the rows to store come out (routes and consumers load, call
 * and store). The reasoning behind each rule is in the service README.
 */

export const DAY_MS = 24 * 3600 * 1000;
/** Longest gap between two delta/aggregate entries (I-REC: older energy is not certifiable). */
export const MAX_GAP_MS = 365 * DAY_MS;
/** A read whose tenure starts more than this many years before the day it is stored is not eligible. */
export const ELIGIBLE_YEARS = 3;

export type RefusalCode =
  | "not_whole_wh"
  | "negative_value"
  | "end_not_after_start"
  | "in_future"
  | "before_commissioning"
  | "before_onboarding"
  | "capacity_unknown"
  | "above_physical_limit"
  | "overlaps_read"
  | "conflict"
  | "out_of_order"
  | "gap_too_long"
  | "decreasing_register"
  | "source_mismatch";
export type WarningCode = ReadFlag | "starting_point";

export interface Issue<C extends string> {
  index: number;
  /** The read's field the issue is about, e.g. "value", "starttimestamp", "endtimestamp". */
  field: string;
  code: C;
  message: string;
}

/** What the rules need to know of the device. */
export interface DeviceFacts extends DeviceCapacity {
  /** Onboarding: when the device was registered (history tenures may not start before it). */
  onboardedMs: number | null;
  /** The cumulative type the device uses, once it has one (delta and aggregate never mix). */
  cumulativeType: "delta" | "aggregate" | null;
  /** Where its reads come from before its first switch, once it has one (its first stored read's). */
  source: ReadSource | null;
  /** Its switches of source, in order (PUT …/read-source): each in force from fromMs to the next. */
  sourceSwitches?: SourceLog["switches"];
}

/** A stored read (its current version). `startMs` and `energyWh` are null for a starting point. */
export interface StoredRead {
  readId: string;
  version: number;
  readType: ReadType;
  source: ReadSource;
  startMs: number | null;
  endMs: number;
  valueWh: number;
  energyWh: number | null;
  eligible: boolean;
  flags: ReadFlag[];
  contentHash: string | null;
}

/** A read as sent (timestamps parsed, value as a number in the batch's unit). */
export interface IncomingRead {
  index: number;
  startMs: number | null;
  endMs: number;
  value: number;
}

export interface BatchInput {
  /** Named in the content hashes. */
  deviceId: string;
  type: ReadType;
  source: ReadSource;
  unit: EnergyUnit;
  reads: readonly IncomingRead[];
  device: DeviceFacts;
  /**
   * The device's stored reads the batch could touch: every read whose period overlaps or whose end
   * lies in the batch's span, plus (for delta/aggregate) the latest delta/aggregate read.
   */
  existing: readonly StoredRead[];
  /** The device's latest delta/aggregate read, and whether a history read ends after it. */
  lastCumulative: StoredRead | null;
  historyAfterLastCumulative: boolean;
  nowMs: number;
  futureToleranceMs: number;
  newReadId: () => string;
}

export type ReadStatus = "stored" | "stored_with_warnings" | "refused";

export interface ReadOutcome {
  index: number;
  status: ReadStatus;
  /** true when the same read was stored before (nothing stored again). */
  duplicate: boolean;
  readId: string | null;
  /** Energy counted for [start, end), whole Wh; null for a starting point or a refused read. */
  energyWh: number | null;
  warnings: Issue<WarningCode>[];
  reasons: Issue<RefusalCode>[];
}

/** A read to store (version 1, or the next version of a telemetry read). */
export interface NewRead extends StoredRead {
  index: number;
  previous: StoredRead | null;
}

export interface BatchResult {
  outcomes: ReadOutcome[];
  /** In order of endMs. */
  stored: NewRead[];
}

/** sha256 of `deviceId|start|end|energyWh|source` (the contract's contentHash). */
export function contentHash(
  deviceId: string,
  read: { startMs: number; endMs: number; energyWh: number; source: ReadSource },
): string {
  const text = `${deviceId}|${isoOf(read.startMs)}|${isoOf(read.endMs)}|${read.energyWh}|${read.source}`;
  return hash("sha256", text, "hex");
}

/** The first instant that is still eligible: today's UTC midnight, 3 calendar years back. */
export function eligibleFromMs(nowMs: number): number {
  const now = new Date(nowMs);
  return Date.UTC(now.getUTCFullYear() - ELIGIBLE_YEARS, now.getUTCMonth(), now.getUTCDate());
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Checks a batch of one device's reads; see BatchInput. */
export function evaluateBatch(input: BatchInput): BatchResult {
  return input.type === "history" ? evaluateHistory(input) : evaluateCumulative(input);
}

/** No warnings / no reasons: one shared, frozen array instead of two new ones for each of 10,000 reads. */
const NONE: never[] = Object.freeze([]) as unknown as never[];

class Verdict {
  warnings: Issue<WarningCode>[] = NONE;
  reasons: Issue<RefusalCode>[] = NONE;
  constructor(readonly index: number) {}
  refuse(code: RefusalCode, field: string, message: string) {
    if (this.reasons === NONE) this.reasons = [];
    this.reasons.push({ index: this.index, field, code, message });
  }
  warn(code: WarningCode, field: string, message: string) {
    if (this.warnings === NONE) this.warnings = [];
    this.warnings.push({ index: this.index, field, code, message });
  }
  get refused() {
    return this.reasons.length > 0;
  }
  outcome(read: StoredRead | null, duplicate = false): ReadOutcome {
    const status: ReadStatus = this.refused
      ? "refused"
      : this.warnings.length > 0
        ? "stored_with_warnings"
        : "stored";
    return {
      index: this.index,
      status,
      duplicate,
      readId: this.refused ? null : (read?.readId ?? null),
      energyWh: this.refused ? null : (read?.energyWh ?? null),
      warnings: this.warnings,
      reasons: this.reasons,
    };
  }
}

/** A read of the batch's source over [startMs, endMs) must be of the source in force then. */
function sourceCheck(input: BatchInput, v: Verdict, field: string, startMs: number, endMs: number) {
  const switches = input.device.sourceSwitches ?? [];
  // Without switches the first source is in force all the time (what sourceMismatch finds, without its work).
  if (switches.length === 0 && (input.device.source === null || input.device.source === input.source)) return;
  const log = { initial: input.device.source, switches };
  const why = sourceMismatch(log, input.source, startMs, endMs);
  if (why !== null) v.refuse("source_mismatch", field, `read ${v.index}: ${why}`);
}

/**
 * Value, future and unit rules every read type shares; returns the value in Wh when it is usable. The
 * source is checked here for history reads (their period is known); delta/aggregate reads once their
 * period is (from the previous entry).
 */
function commonChecks(input: BatchInput, read: IncomingRead, v: Verdict): number | null {
  const converted = toWholeWh(read.value, input.unit);
  let valueWh: number | null = null;
  if (!converted.ok) v.refuse("not_whole_wh", "value", `read ${read.index}: ${converted.message}`);
  else if (converted.wh < 0) v.refuse("negative_value", "value", `read ${read.index}: the value is negative`);
  else valueWh = converted.wh;
  if (read.endMs > input.nowMs + input.futureToleranceMs) {
    v.refuse("in_future", "endtimestamp", `read ${read.index}: ${iso(read.endMs)} is in the future`);
  }
  if (input.type === "history") sourceCheck(input, v, "source", read.startMs ?? read.endMs, read.endMs);
  return valueWh;
}

/** Flags and the plausibility check of a counted period. */
function periodChecks(input: BatchInput, v: Verdict, startMs: number, endMs: number, energyWh: number) {
  const { device } = input;
  const flags: ReadFlag[] = [];
  const limits = energyLimits(device, startMs, endMs);
  if (limits === null) {
    v.refuse(
      "capacity_unknown",
      "value",
      `read ${v.index}: the device has no capacity to check the read against`,
    );
  } else {
    const verdict = plausibility(energyWh, limits);
    if (verdict === "above_physical_limit") {
      v.refuse(
        "above_physical_limit",
        "value",
        `read ${v.index}: ${energyWh} Wh (×1.2) is more than the device could produce in the period (${Math.floor(limits.physicalWh)} Wh)`,
      );
    } else if (verdict === "above_yield_expectation") {
      flags.push("above_yield_expectation");
      v.warn(
        "above_yield_expectation",
        "value",
        `read ${v.index}: ${energyWh} Wh (×1.2) is above the device's yield expectation for the period (${Math.floor(limits.yieldWh)} Wh)`,
      );
    }
  }
  let eligible = true;
  if (startMs < eligibleFrom(input.nowMs)) {
    eligible = false;
    flags.push("older_than_3_years");
    v.warn(
      "older_than_3_years",
      "starttimestamp",
      `read ${v.index}: the period starts more than ${ELIGIBLE_YEARS} years ago; stored, not eligible for certification`,
    );
  }
  return { flags, eligible };
}

/** eligibleFromMs of the batch's clock, made once for its reads rather than once per read. */
let eligibleMemo = { nowMs: Number.NaN, fromMs: 0 };
function eligibleFrom(nowMs: number): number {
  if (eligibleMemo.nowMs !== nowMs) eligibleMemo = { nowMs, fromMs: eligibleFromMs(nowMs) };
  return eligibleMemo.fromMs;
}

/** Warnings a stored read answers with again when it is sent again. */
function storedWarnings(read: StoredRead, v: Verdict) {
  for (const flag of read.flags) {
    v.warn(
      flag,
      flag === "older_than_3_years" ? "starttimestamp" : "value",
      `read ${v.index}: stored earlier as ${flag}`,
    );
  }
  if (read.energyWh === null)
    v.warn("starting_point", "endtimestamp", `read ${v.index}: a starting point, not counted`);
}

/**
 * The counted reads of a device in order of start, for overlap checks in O(log n): counted reads never
 * overlap each other, so only the neighbours of a period's position can overlap it.
 */
class Periods {
  private readonly reads: StoredRead[];
  constructor(reads: readonly StoredRead[]) {
    this.reads = reads.filter((r) => r.startMs !== null).sort((a, b) => a.startMs! - b.startMs!);
  }
  /** Index of the first read starting at or after `startMs`. */
  private position(startMs: number): number {
    let lo = 0;
    let hi = this.reads.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.reads[mid]!.startMs! < startMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  /** The read that overlaps [startMs, endMs), if any (`except` is left out: the read being corrected). */
  overlapping(startMs: number, endMs: number, except?: StoredRead): StoredRead | undefined {
    const i = this.position(startMs);
    for (let j = Math.max(0, i - 2); j <= i + 1 && j < this.reads.length; j++) {
      const candidate = this.reads[j]!;
      if (candidate !== except && candidate.startMs! < endMs && candidate.endMs > startMs) return candidate;
    }
    return undefined;
  }
  add(read: StoredRead) {
    this.reads.splice(this.position(read.startMs!), 0, read);
  }
  replace(old: StoredRead, next: StoredRead) {
    const i = this.reads.indexOf(old);
    if (i >= 0) this.reads.splice(i, 1);
    this.add(next);
  }
}

function makeRead(
  input: BatchInput,
  fields: Omit<NewRead, "readId" | "version" | "contentHash" | "source" | "readType" | "previous">,
  previous: StoredRead | null,
): NewRead {
  return {
    index: fields.index,
    startMs: fields.startMs,
    endMs: fields.endMs,
    valueWh: fields.valueWh,
    energyWh: fields.energyWh,
    eligible: fields.eligible,
    flags: fields.flags,
    readId: previous?.readId ?? input.newReadId(),
    version: previous ? previous.version + 1 : 1,
    readType: input.type,
    source: input.source,
    previous,
    contentHash:
      fields.startMs !== null && fields.energyWh !== null
        ? contentHash(input.deviceId, {
            startMs: fields.startMs,
            endMs: fields.endMs,
            energyWh: fields.energyWh,
            source: input.source,
          })
        : null,
  };
}

/**
 * History: each read is the energy of [start, end). Not negative; end after start; not before
 * commissioning (nor, for API reads, before onboarding: the seed's rule for back-dated reads); no overlap
 * with any counted read; older than 3 years is stored, flagged, not eligible. Telemetry reads are history
 * reads whose re-sent value is a correction (a new version), not a conflict.
 */
function evaluateHistory(input: BatchInput): BatchResult {
  const outcomes: ReadOutcome[] = [];
  const stored: NewRead[] = [];
  const byEnd = new Map(input.existing.map((r) => [r.endMs, r]));
  // Counted reads the batch may not overlap: the stored ones (minus those it corrects) and its own.
  const taken = new Periods(input.existing);
  const order = [...input.reads].sort((a, b) => (a.startMs ?? a.endMs) - (b.startMs ?? b.endMs));
  for (const read of order) {
    const v = new Verdict(read.index);
    const valueWh = commonChecks(input, read, v);
    const startMs = read.startMs;
    if (startMs === null) {
      v.refuse("end_not_after_start", "starttimestamp", `read ${read.index}: a history read needs a start`);
      outcomes.push(v.outcome(null));
      continue;
    }
    if (read.endMs <= startMs) {
      v.refuse("end_not_after_start", "endtimestamp", `read ${read.index}: the end is not after the start`);
    }
    const same = byEnd.get(read.endMs);
    const isCorrection = same !== undefined && input.source === "telemetry" && same.source === "telemetry";
    if (same && !isCorrection && !v.refused) {
      if (same.startMs === startMs && same.valueWh === valueWh && same.readType === "history") {
        storedWarnings(same, v);
        outcomes.push(v.outcome(same, true));
      } else {
        v.refuse(
          "conflict",
          "value",
          `read ${read.index}: a different read is stored for ${iso(read.endMs)} (${same.valueWh} Wh${same.startMs !== null ? ` from ${iso(same.startMs)}` : ""})`,
        );
        outcomes.push(v.outcome(null));
      }
      continue;
    }
    if (isCorrection && same.startMs === startMs && same.valueWh === valueWh) {
      storedWarnings(same, v);
      outcomes.push(v.outcome(same, true)); // the same interval again: nothing changes
      continue;
    }
    const { commissionedMs, onboardedMs } = input.device;
    if (commissionedMs !== null && startMs < commissionedMs) {
      v.refuse(
        "before_commissioning",
        "starttimestamp",
        `read ${read.index}: the period starts ${iso(startMs)}, before the device was commissioned (${iso(commissionedMs)})`,
      );
    }
    if (input.source === "api" && onboardedMs !== null && startMs < onboardedMs) {
      v.refuse(
        "before_onboarding",
        "starttimestamp",
        `read ${read.index}: the tenure starts ${iso(startMs)}, before the device was onboarded (${iso(onboardedMs)})`,
      );
    }
    if (v.refused || valueWh === null || read.endMs <= startMs) {
      outcomes.push(v.outcome(null));
      continue;
    }
    const hit = taken.overlapping(startMs, read.endMs, isCorrection ? same : undefined);
    if (hit) {
      v.refuse(
        "overlaps_read",
        "starttimestamp",
        `read ${read.index}: [${iso(startMs)}, ${iso(read.endMs)}) overlaps the ${hit.readType} read of [${iso(hit.startMs!)}, ${iso(hit.endMs)})`,
      );
      outcomes.push(v.outcome(null));
      continue;
    }
    const { flags, eligible } = periodChecks(input, v, startMs, read.endMs, valueWh);
    if (v.refused) {
      outcomes.push(v.outcome(null));
      continue;
    }
    const row = makeRead(
      input,
      { index: read.index, startMs, endMs: read.endMs, valueWh, energyWh: valueWh, eligible, flags },
      isCorrection ? same : null,
    );
    stored.push(row);
    if (isCorrection) taken.replace(same, row);
    else taken.add(row);
    byEnd.set(row.endMs, row);
    outcomes.push(v.outcome(row));
  }
  return finish(input, outcomes, stored);
}

/**
 * Delta and aggregate: append-only series. The first entry (and the first after history reads that end
 * later than the series) only sets a starting point; each next entry counts [previous end, end):
 * delta its value, aggregate current − previous (a lower register is refused). A gap of more than 365
 * days is refused; an entry earlier than the series' last one is refused (back-dated energy goes in as
 * history reads).
 */
function evaluateCumulative(input: BatchInput): BatchResult {
  const outcomes: ReadOutcome[] = [];
  const stored: NewRead[] = [];
  const byEnd = new Map(input.existing.map((r) => [r.endMs, r]));
  const history = new Periods(input.existing.filter((r) => r.readType === "history"));
  let previous: StoredRead | null = input.historyAfterLastCumulative ? null : input.lastCumulative;
  const lastEnd = input.lastCumulative?.endMs ?? Number.NEGATIVE_INFINITY;
  const order = [...input.reads].sort((a, b) => a.endMs - b.endMs);
  for (const read of order) {
    const v = new Verdict(read.index);
    const valueWh = commonChecks(input, read, v);
    const same = byEnd.get(read.endMs);
    if (same && !v.refused) {
      if (same.valueWh === valueWh && same.readType === input.type) {
        storedWarnings(same, v);
        outcomes.push(v.outcome(same, true));
      } else {
        v.refuse(
          "conflict",
          "value",
          `read ${read.index}: a different ${same.readType} read is stored for ${iso(read.endMs)} (${same.valueWh} Wh)`,
        );
        outcomes.push(v.outcome(null));
      }
      continue;
    }
    if (read.endMs <= lastEnd) {
      v.refuse(
        "out_of_order",
        "endtimestamp",
        `read ${read.index}: ${iso(read.endMs)} is before the device's latest ${input.type} read (${iso(lastEnd)}); send back-dated energy as history reads`,
      );
    }
    if (input.device.commissionedMs !== null && read.endMs < input.device.commissionedMs) {
      v.refuse(
        "before_commissioning",
        "endtimestamp",
        `read ${read.index}: ${iso(read.endMs)} is before the device was commissioned (${iso(input.device.commissionedMs)})`,
      );
    }
    // A starting point is the instant of its end; a counted entry's period starts at the previous entry.
    sourceCheck(input, v, "source", previous?.endMs ?? read.endMs, read.endMs);
    if (v.refused || valueWh === null) {
      outcomes.push(v.outcome(null));
      continue;
    }
    if (previous === null) {
      // A starting point: only its end (and an aggregate's register) counts, for the next entry.
      const inside = history.overlapping(read.endMs, read.endMs + 1);
      if (inside) {
        v.refuse(
          "overlaps_read",
          "endtimestamp",
          `read ${read.index}: ${iso(read.endMs)} lies inside a history read`,
        );
        outcomes.push(v.outcome(null));
        continue;
      }
      v.warn(
        "starting_point",
        "endtimestamp",
        `read ${read.index}: the first entry only sets the starting point`,
      );
      const row = makeRead(
        input,
        {
          index: read.index,
          startMs: null,
          endMs: read.endMs,
          valueWh,
          energyWh: null,
          eligible: true,
          flags: [],
        },
        null,
      );
      stored.push(row);
      previous = row;
      outcomes.push(v.outcome(row));
      continue;
    }
    const startMs = previous.endMs;
    if (read.endMs - startMs > MAX_GAP_MS) {
      v.refuse(
        "gap_too_long",
        "endtimestamp",
        `read ${read.index}: more than 365 days after the previous entry (${iso(startMs)})`,
      );
    }
    let energyWh = valueWh;
    if (input.type === "aggregate") {
      if (valueWh < previous.valueWh) {
        v.refuse(
          "decreasing_register",
          "value",
          `read ${read.index}: the register (${valueWh} Wh) is below the previous one (${previous.valueWh} Wh)`,
        );
      }
      energyWh = valueWh - previous.valueWh;
    }
    const hit = history.overlapping(startMs, read.endMs);
    if (hit && !v.refused) {
      v.refuse(
        "overlaps_read",
        "endtimestamp",
        `read ${read.index}: [${iso(startMs)}, ${iso(read.endMs)}) overlaps the history read of [${iso(hit.startMs!)}, ${iso(hit.endMs)})`,
      );
    }
    if (v.refused) {
      outcomes.push(v.outcome(null));
      continue;
    }
    const { flags, eligible } = periodChecks(input, v, startMs, read.endMs, energyWh);
    if (v.refused) {
      outcomes.push(v.outcome(null));
      continue;
    }
    const row = makeRead(
      input,
      { index: read.index, startMs, endMs: read.endMs, valueWh, energyWh, eligible, flags },
      null,
    );
    stored.push(row);
    previous = row;
    outcomes.push(v.outcome(row));
  }
  return finish(input, outcomes, stored);
}

function finish(input: BatchInput, outcomes: ReadOutcome[], stored: NewRead[]): BatchResult {
  const byIndex = new Map(outcomes.map((o) => [o.index, o]));
  return {
    outcomes: input.reads.map((r) => byIndex.get(r.index)!),
    stored: stored.sort((a, b) => a.endMs - b.endMs),
  };
}
