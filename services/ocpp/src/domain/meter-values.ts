import type { OcppVersion } from "@energy/contracts";

/** One sampledValue as either version sends it (1.6: value is a string; 2.0.1: a number + unitOfMeasure). */
export interface RawSampledValue {
  value: string | number;
  context?: string;
  format?: string;
  measurand?: string;
  phase?: string;
  location?: string;
  /** 1.6 */
  unit?: string;
  /** 2.0.1 */
  unitOfMeasure?: { unit?: string; multiplier?: number };
}

export type Phase = "L1" | "L2" | "L3";

/** What one meterValue (one timestamp) says, in the seed's units; a field is absent when not measured. */
export interface Sample {
  context: string;
  powerW?: number;
  /** Energy.Active.Import.Register in Wh (the lifetime counter). Absent: unknown, never 0. */
  energyImportWh?: number;
  energyExportWh?: number;
  voltage: Partial<Record<Phase, number>>;
  current: Partial<Record<Phase, number>>;
  /** Vehicle state of charge, 0..1. */
  soc?: number;
  /** What was not used, and why (for logs and tests). */
  skipped: string[];
}

const SCALE: Record<string, number> = { Wh: 1, kWh: 1000, W: 1, kW: 1000, V: 1, A: 1, Percent: 1 };

/** 1.6 / 2.0.1 defaults: no measurand means Energy.Active.Import.Register, no location means Outlet. */
const DEFAULT_MEASURAND = "Energy.Active.Import.Register";
const DEFAULT_CONTEXT = "Sample.Periodic";

function defaultUnit(measurand: string): string {
  if (measurand.startsWith("Energy.")) return "Wh";
  if (measurand.startsWith("Power.")) return "W";
  if (measurand.startsWith("Voltage")) return "V";
  if (measurand.startsWith("Current.")) return "A";
  if (measurand === "SoC") return "Percent";
  return "";
}

function phaseOf(phase: string | undefined): Phase | null | "other" {
  if (!phase) return null;
  if (phase === "L1" || phase === "L1-N") return "L1";
  if (phase === "L2" || phase === "L2-N") return "L2";
  if (phase === "L3" || phase === "L3-N") return "L3";
  return "other";
}

/** The value in the seed's unit, or a reason it cannot be used. */
function scaled(version: OcppVersion, sv: RawSampledValue, measurand: string): number | string {
  if (sv.format === "SignedData") return "signed data is not a number";
  const raw =
    typeof sv.value === "number" ? sv.value : sv.value.trim() === "" ? Number.NaN : Number(sv.value);
  if (!Number.isFinite(raw)) return `value ${JSON.stringify(sv.value)} is not a number`;
  const unit = (version === "1.6" ? sv.unit : sv.unitOfMeasure?.unit) ?? defaultUnit(measurand);
  const factor = SCALE[unit];
  if (factor === undefined) return `unit ${unit} is not used`;
  const multiplier = version === "2.0.1" ? 10 ** (sv.unitOfMeasure?.multiplier ?? 0) : 1;
  return raw * factor * multiplier;
}

/**
 * Reads the sampled values of one meterValue. Measurand, unit (W/kW, Wh/kWh, 2.0.1 multipliers), phase,
 * location and context are honoured: per-phase power is summed when no total is given; values measured
 * at the EV (location EV) are only used for its state of charge; a value that is not a number is
 * skipped, never read as 0.
 */
export function parseSampledValues(version: OcppVersion, values: readonly RawSampledValue[]): Sample {
  const sample: Sample = { context: DEFAULT_CONTEXT, voltage: {}, current: {}, skipped: [] };
  const phasePower: Partial<Record<Phase, number>> = {};
  let contextSet = false;
  for (const sv of values) {
    const measurand = sv.measurand ?? DEFAULT_MEASURAND;
    if (!contextSet && sv.context) {
      sample.context = sv.context;
      contextSet = true;
    }
    const value = scaled(version, sv, measurand);
    if (typeof value === "string") {
      sample.skipped.push(`${measurand}: ${value}`);
      continue;
    }
    const phase = phaseOf(sv.phase);
    const location = sv.location ?? "Outlet";
    if (location === "EV" && measurand !== "SoC") {
      sample.skipped.push(`${measurand}: measured at the EV`);
      continue;
    }
    switch (measurand) {
      case "Energy.Active.Import.Register":
        if (phase === null) sample.energyImportWh = value;
        else sample.skipped.push(`${measurand}: per-phase register`);
        break;
      case "Energy.Active.Export.Register":
        if (phase === null) sample.energyExportWh = value;
        else sample.skipped.push(`${measurand}: per-phase register`);
        break;
      case "Power.Active.Import":
        if (phase === null) sample.powerW = (sample.powerW ?? 0) + value;
        else if (phase !== "other") phasePower[phase] = value;
        break;
      case "Power.Active.Export":
        if (phase === null) sample.powerW = (sample.powerW ?? 0) - value;
        else sample.skipped.push(`${measurand}: per-phase export`);
        break;
      case "Voltage":
        if (phase && phase !== "other") sample.voltage[phase] = value;
        else if (phase === null) sample.voltage.L1 ??= value;
        else sample.skipped.push(`${measurand}: phase ${sv.phase}`);
        break;
      case "Current.Import":
        if (phase && phase !== "other") sample.current[phase] = value;
        else if (phase === null) sample.current.L1 ??= value;
        else sample.skipped.push(`${measurand}: phase ${sv.phase}`);
        break;
      case "SoC":
        sample.soc = Math.min(1, Math.max(0, value / 100));
        break;
      default:
        sample.skipped.push(`${measurand}: not used`);
    }
  }
  if (sample.powerW === undefined) {
    const phases = Object.values(phasePower);
    if (phases.length > 0) sample.powerW = phases.reduce((a, b) => a + b, 0);
  }
  return sample;
}
