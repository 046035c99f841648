/**
 * The physics of one simulated site: a PV inverter (one or more arrays), a battery, a grid meter and,
 * on some sites, an EV charger port. Deterministic: the same seed, start time and interval give the same
 * readings, on any machine.
 *
 * - PV follows the sun of the site's latitude and longitude (solar elevation from the day of the year and
 *   the time of day: sunrise and sunset move with the seasons), scaled by a clear-sky model and a cloud
 *   factor; exactly 0 W while the sun is below the horizon. Generation is negative (W <= 0).
 * - The house load has a morning and an evening peak, a little midday use, noise and appliance bursts.
 * - The EV charger has evening sessions (arrive 17:00–20:30 local time, leave the next morning), charging at
 *   full power until the session's energy is delivered, then suspended by the EV.
 * - The battery charges from the surplus (PV beyond load and EV) and discharges into the deficit from the
 *   afternoon through the night to the morning peak (16:00–09:00 local), between SoC 0.1 and 0.95 and
 *   within its power limits; it follows the site's balance with a small lag, so the meter still shows a
 *   little import or export.
 * - The meter is what is left: load + EV + battery − PV (import positive, export negative).
 * - Counters are cumulative whole Wh: each reading reports the energy up to its timestamp, and the power it
 *   reports (integer W) is held until the next reading: counter[k+1] − counter[k] = W[k] × dt / 3600 within
 *   1 Wh (fractional accumulators inside, whole Wh out).
 *
 * Noise comes from hashes of (seed, channel, time slot), not from a running random stream, so curves do not
 * depend on the interval or on where a run started; only counters, SoC and sessions carry state.
 */
import type { BatteryReading, EvChargerPortReading, MeterReading, PvReading } from "@energy/contracts";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const RAD = Math.PI / 180;

export const SOC_MIN = 0.1;
export const SOC_MAX = 0.95;

// --- deterministic noise ------------------------------------------------------------------------------

/** A 32-bit hash of a string (FNV-1a with a final avalanche). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return avalanche(h);
}

function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of a few integers (each taken modulo 2^32). */
export function hashInts(a: number, b: number, c = 0, d = 0): number {
  let h = a | 0;
  for (const x of [b, c, d]) {
    h = Math.imul(h ^ (x | 0) ^ Math.floor(x / 4_294_967_296), 0x5bd1e995);
    h ^= h >>> 15;
  }
  return avalanche(h);
}

/** A uniform number in [0, 1) from a few integers. */
export function unit(a: number, b: number, c = 0, d = 0): number {
  return hashInts(a, b, c, d) / 4_294_967_296;
}

/** Value noise in [0, 1): random values at knots `periodMs` apart, joined by a smooth step. */
export function smoothNoise(key: number, channel: number, t: number, periodMs: number): number {
  const x = t / periodMs;
  const k = Math.floor(x);
  const f = x - k;
  const s = f * f * (3 - 2 * f);
  const a = unit(key, channel, k);
  const b = unit(key, channel, k + 1);
  return a + (b - a) * s;
}

// Noise channels: one per quantity, so they do not move together.
const CH = {
  cloudDay: 1,
  cloudSlow: 2,
  cloudFast: 3,
  pvArray: 4,
  loadSlow: 5,
  loadShape: 6,
  appliance: 7,
  ev: 8,
  follow: 9,
  phase: 10,
  volt: 11,
  hz: 12,
  readTime: 13,
  charger: 14,
  heat: 15,
} as const;

// --- time and sun -------------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, number>();

/** The offset of an IANA time zone from UTC at time t, in ms (cached per hour: zones change on the hour). */
export function utcOffsetMs(timezone: string, t: number): number {
  const hour = Math.floor(t / HOUR);
  const cacheKey = `${timezone}|${hour}`;
  const cached = offsets.get(cacheKey);
  if (cached !== undefined) return cached;
  let format = formatters.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
    });
    formatters.set(timezone, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(hour * HOUR))) parts[part.type] = Number(part.value);
  const local = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!);
  const offset = local - hour * HOUR;
  if (offsets.size > 200_000) offsets.clear();
  offsets.set(cacheKey, offset);
  return offset;
}

/** Local time of day in hours (0..24) and the local day number (days since 1970-01-01 local). */
export function localTime(timezone: string, t: number): { hour: number; day: number } {
  const local = t + utcOffsetMs(timezone, t);
  const day = Math.floor(local / DAY);
  return { hour: (local - day * DAY) / HOUR, day };
}

/** Sine of the sun's elevation at a place and time (<= 0: the sun is down). */
export function sunElevationSine(t: number, latitude: number, longitude: number): number {
  const dayOfYear = ((t / DAY) % 365.2425) + 1;
  const declination = -23.44 * RAD * Math.cos(((2 * Math.PI) / 365) * (dayOfYear + 10));
  const b = ((2 * Math.PI) / 364) * (dayOfYear - 81);
  const equationOfTimeMin = 9.87 * Math.sin(2 * b) - 7.53 * Math.cos(b) - 1.5 * Math.sin(b);
  const utcHours = (((t % DAY) + DAY) % DAY) / HOUR;
  const solarHours = utcHours + longitude / 15 + equationOfTimeMin / 60;
  const hourAngle = 15 * (solarHours - 12) * RAD;
  const phi = latitude * RAD;
  return Math.sin(phi) * Math.sin(declination) + Math.cos(phi) * Math.cos(declination) * Math.cos(hourAngle);
}

/**
 * The fraction of its peak a clear-sky PV array gives (0..1): Haurwitz's clear-sky irradiance, with a gain
 * for a tilted panel at low sun. 0 while the sun is down.
 */
export function clearSkyFraction(t: number, latitude: number, longitude: number): number {
  const s = sunElevationSine(t, latitude, longitude);
  if (s <= 0.01) return 0;
  const ghi = 1.098 * s * Math.exp(-0.059 / s);
  return Math.min(1, ghi * (1 + 0.6 * (1 - s)));
}

/** Cloud factor 0.05..1 at a time: a cloudiness per local day, slow and fast passing clouds. */
export function cloudFactor(key: number, localDay: number, t: number): number {
  const cloudiness = unit(key, CH.cloudDay, localDay) ** 1.5 * 0.85;
  const slow = smoothNoise(key, CH.cloudSlow, t, 20 * MINUTE);
  const fast = smoothNoise(key, CH.cloudFast, t, 3 * MINUTE);
  return Math.min(1, Math.max(0.05, 1 - cloudiness * (0.3 + 0.7 * slow) - 0.04 * fast));
}

const bell = (hour: number, mean: number, sigma: number) => {
  const d = Math.min(Math.abs(hour - mean), 24 - Math.abs(hour - mean));
  return Math.exp(-(d * d) / (2 * sigma * sigma));
};

/** House consumption in W (without the EV): base load, a morning and an evening peak, appliance bursts. */
export function houseLoadW(key: number, profile: SiteProfile, t: number, localHour: number): number {
  const base = profile.baseLoadW * (0.85 + 0.3 * smoothNoise(key, CH.loadSlow, t, 10 * MINUTE));
  const shape =
    0.55 * bell(localHour, 7.3, 0.9) + 1.0 * bell(localHour, 19, 1.6) + 0.25 * bell(localHour, 12.5, 2.5);
  const peaks = profile.peakLoadW * shape * (0.75 + 0.5 * smoothNoise(key, CH.loadShape, t, 30 * MINUTE));
  // Appliances (kettle, oven, washing machine): in some 12-minute slots, 1.2–2.5 kW for 2–10 minutes.
  const slotMs = 12 * MINUTE;
  const slot = Math.floor(t / slotMs);
  let appliance = 0;
  if (unit(key, CH.appliance, slot, 0) < 0.14) {
    const from = slot * slotMs + unit(key, CH.appliance, slot, 1) * slotMs * 0.5;
    const duration = (2 + 8 * unit(key, CH.appliance, slot, 2)) * MINUTE;
    if (t >= from && t < from + duration) appliance = 1200 + 1300 * unit(key, CH.appliance, slot, 3);
  }
  return base + peaks + appliance;
}

// --- the site -------------------------------------------------------------------------------------------

export interface Location {
  city: string;
  countryCode: string;
  latitude: number;
  longitude: number;
  timezone: string;
}

/** Where simulated sites are, in turn (site i gets LOCATIONS[i % length]). */
export const LOCATIONS: readonly Location[] = [
  { city: "Lund", countryCode: "SE", latitude: 55.7047, longitude: 13.191, timezone: "Europe/Stockholm" },
  { city: "Seville", countryCode: "ES", latitude: 37.3891, longitude: -5.9845, timezone: "Europe/Madrid" },
  { city: "Munich", countryCode: "DE", latitude: 48.1351, longitude: 11.582, timezone: "Europe/Berlin" },
  { city: "Bologna", countryCode: "IT", latitude: 44.4949, longitude: 11.3426, timezone: "Europe/Rome" },
  { city: "Utrecht", countryCode: "NL", latitude: 52.0907, longitude: 5.1214, timezone: "Europe/Amsterdam" },
];

export interface SiteProfile {
  location: Location;
  /** Peak power of each PV array, W; the first one is on the hybrid inverter. */
  pvArraysW: number[];
  battery: { capacityWh: number; maxChargeW: number; maxDischargeW: number };
  /** Night-time consumption, W. */
  baseLoadW: number;
  /** Extra consumption at the evening peak, W (the morning peak is about half of it). */
  peakLoadW: number;
  /** The EV charger port, when the site has one: its power and phases. */
  charger: { maxW: number; phases: 1 | 3 } | null;
  /** Years of service before the simulation, for realistic starting counters. */
  yearsInService: number;
}

/** A site's equipment, drawn from its seed. */
export function siteProfile(
  seed: string,
  opts: { location: Location; pvArrays?: number; charger?: boolean },
): SiteProfile {
  const key = hashString(seed);
  const u = (i: number) => unit(key, 100, i);
  const arrays = Math.max(1, opts.pvArrays ?? 1);
  const capacityWh = Math.round(5000 + 10000 * u(3));
  const threePhase = u(6) < 0.5;
  return {
    location: opts.location,
    pvArraysW: Array.from({ length: arrays }, (_, i) =>
      i === 0 ? Math.round(4000 + 6000 * u(1)) : Math.round(2000 + 4000 * unit(key, 101, i)),
    ),
    battery: {
      capacityWh,
      maxChargeW: Math.round(Math.min(5000, capacityWh / 2)),
      maxDischargeW: Math.round(Math.min(5000, capacityWh / 2)),
    },
    baseLoadW: Math.round(250 + 200 * u(4)),
    peakLoadW: Math.round(1500 + 1500 * u(5)),
    charger: opts.charger ? (threePhase ? { maxW: 11000, phases: 3 } : { maxW: 7400, phases: 1 }) : null,
    yearsInService: 0.5 + 3 * u(7),
  };
}

/** An evening charging session of a local day, or null when the EV does not come that day. */
export function chargingSession(
  key: number,
  timezone: string,
  localDay: number,
): { sessionId: number; arrival: number; departure: number; energyWh: number } | null {
  if (unit(key, CH.ev, localDay, 0) >= 0.7) return null;
  const midnight = localDay * DAY;
  const offset = utcOffsetMs(timezone, midnight);
  const arrival = midnight - offset + (17 + 3.5 * unit(key, CH.ev, localDay, 1)) * HOUR;
  const departure = arrival + (10 + 4 * unit(key, CH.ev, localDay, 2)) * HOUR;
  const energyWh = 6000 + 24000 * unit(key, CH.ev, localDay, 3);
  return { sessionId: localDay * 1000 + (key % 1000), arrival, departure, energyWh };
}

/** What a simulator carries from one step to the next; plain JSON, to resume a site after a restart. */
export interface SiteState {
  /** Timestamp of the next reading, ms. */
  t: number;
  soc: number;
  /** Fractional Wh of every counter, by name (`pv0`, `pv1`, `charge`, `discharge`, `import`, `export`, `ev`). */
  wh: Record<string, number>;
  session: { id: number; deliveredWh: number } | null;
  resetDone: boolean;
}

export interface Faults {
  /** Every counter of the site restarts from 0 at the first reading at or after this time (ms). */
  counterResetAt?: number;
  /** No readings are reported in [from, to) (ms); the site keeps running, so counters jump across it. */
  gap?: { from: number; to: number };
}

export interface SiteReadings {
  /** One per PV array. */
  pv: PvReading[];
  battery: BatteryReading;
  meter: MeterReading;
  evPort: EvChargerPortReading | null;
}

export interface SiteStep {
  timestamp: number;
  /** false inside an injected gap: nothing is reported for this step. */
  reported: boolean;
  readings: SiteReadings;
  /** What is not in the readings, for tests and benches: house load, PV generation, SoC. */
  truth: { loadW: number; generationW: number; evW: number; soc: number };
}

export interface SimulatorOptions {
  seed: string;
  profile: SiteProfile;
  /** Timestamp of the first reading, ms. */
  start: number;
  intervalMs: number;
  faults?: Faults;
  /** Continue from a saved state (its `t` replaces `start`). */
  state?: SiteState;
  /** The `make` of the readings. */
  make?: string;
}

const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const CHARGE_EFFICIENCY = 0.96;
const DISCHARGE_EFFICIENCY = 0.96;

/** One site stepping through time; `next()` gives the readings of one timestamp. */
export class SiteSimulator {
  readonly key: number;
  private readonly opts: SimulatorOptions;
  private readonly state: SiteState;

  constructor(opts: SimulatorOptions) {
    this.opts = opts;
    if (!(opts.intervalMs > 0)) throw new Error("intervalMs must be > 0");
    this.key = hashString(opts.seed);
    this.state = opts.state ? structuredClone(opts.state) : this.initialState(opts.start);
  }

  private initialState(start: number): SiteState {
    const p = this.opts.profile;
    const years = p.yearsInService;
    const wh: Record<string, number> = {
      charge: Math.floor(p.battery.capacityWh * 250 * years),
      import: Math.floor(4_000_000 * years),
      export: Math.floor(3_000_000 * years),
    };
    wh.discharge = Math.floor(wh.charge! * 0.92);
    p.pvArraysW.forEach((peak, i) => {
      wh[`pv${i}`] = Math.floor(peak * 1000 * years);
    });
    if (p.charger) wh.ev = Math.floor(2_000_000 * years);
    return { t: start, soc: 0.3 + 0.4 * unit(this.key, 200), wh, session: null, resetDone: false };
  }

  /** Timestamp of the next reading. */
  get nextTimestamp(): number {
    return this.state.t;
  }

  /** A copy of the state after the last step (resume a site with `state`). */
  snapshot(): SiteState {
    return structuredClone(this.state);
  }

  /** The readings at the next timestamp; then the site runs for one interval. */
  next(): SiteStep {
    return this.step(this.opts.intervalMs, true)!;
  }

  /**
   * Runs the site up to `until` without readings, in steps of at most `maxStepMs` (counters and SoC stay
   * consistent); the next reading is then at `until`.
   */
  fastForward(until: number, maxStepMs = Math.max(this.opts.intervalMs, 5 * MINUTE)): void {
    while (this.state.t < until) this.step(Math.min(maxStepMs, until - this.state.t), false);
  }

  private step(dtMs: number, report: boolean): SiteStep | null {
    const { profile: p, faults } = this.opts;
    const s = this.state;
    const t = s.t;
    const key = this.key;
    const dtH = dtMs / HOUR;
    const { hour, day } = localTime(p.location.timezone, t);

    if (faults?.counterResetAt !== undefined && !s.resetDone && t >= faults.counterResetAt) {
      for (const name of Object.keys(s.wh)) s.wh[name] = 0;
      s.resetDone = true;
    }

    // PV
    const sky = clearSkyFraction(t, p.location.latitude, p.location.longitude);
    const clouds = sky > 0 ? cloudFactor(key, day, t) : 0;
    const generation = p.pvArraysW.map((peak, i) => {
      if (sky === 0) return 0;
      const own = 0.99 + 0.02 * smoothNoise(key, CH.pvArray + 100 * i, t, 5 * MINUTE);
      const w = Math.min(peak, peak * 0.96 * sky * clouds * own);
      return w < 1 ? 0 : Math.round(w);
    });
    const generationW = generation.reduce((a, b) => a + b, 0);

    // House load and EV
    const loadW = Math.round(houseLoadW(key, p, t, hour));
    let evW = 0;
    let session: { id: number; energyWh: number } | null = null;
    if (p.charger) {
      for (const d of [day, day - 1]) {
        const plan = chargingSession(key, p.location.timezone, d);
        if (plan && t >= plan.arrival && t < plan.departure) {
          session = { id: plan.sessionId, energyWh: plan.energyWh };
          break;
        }
      }
      if (!session) s.session = null;
      else {
        if (s.session?.id !== session.id) s.session = { id: session.id, deliveredWh: 0 };
        const remaining = session.energyWh - s.session.deliveredWh;
        if (remaining > 0) {
          const minW = p.charger.phases * 6 * 230;
          const full = p.charger.maxW * (0.95 + 0.04 * smoothNoise(key, CH.charger, t, 4 * MINUTE));
          evW = Math.round(Math.max(minW, Math.min(full, remaining / dtH)));
        }
      }
    }

    // Battery: follows the site's balance (import positive) with a small lag, within SoC and power limits.
    const balance = loadW + evW - generationW;
    const follow = 0.92 + 0.06 * smoothNoise(key, CH.follow, t, 7 * MINUTE);
    const cap = p.battery.capacityWh;
    let batteryW = 0;
    if (balance < 0) {
      const room = ((SOC_MAX - s.soc) * cap) / (dtH * CHARGE_EFFICIENCY);
      batteryW = Math.floor(Math.max(0, Math.min(-balance * follow, p.battery.maxChargeW, room)));
    } else if (balance > 0 && (hour >= 16 || hour < 9)) {
      const stored = ((s.soc - SOC_MIN) * cap * DISCHARGE_EFFICIENCY) / dtH;
      batteryW = -Math.floor(Math.max(0, Math.min(balance * follow, p.battery.maxDischargeW, stored)));
    }
    batteryW += 0; // no negative zero
    const meterW = balance + batteryW;

    const step = report ? this.readings(t, dtMs, generation, batteryW, meterW, evW) : null;
    const soc = s.soc;

    // Integrate: the reported power holds until the next reading.
    generation.forEach((w, i) => {
      s.wh[`pv${i}`]! += w * dtH;
    });
    if (batteryW > 0) {
      s.wh.charge! += batteryW * dtH;
      s.soc += (batteryW * dtH * CHARGE_EFFICIENCY) / cap;
    } else if (batteryW < 0) {
      s.wh.discharge! += -batteryW * dtH;
      s.soc -= (-batteryW * dtH) / DISCHARGE_EFFICIENCY / cap;
    }
    s.soc = Math.min(SOC_MAX, Math.max(SOC_MIN, s.soc));
    if (meterW > 0) s.wh.import! += meterW * dtH;
    else s.wh.export! += -meterW * dtH;
    if (p.charger) s.wh.ev! += evW * dtH;
    if (s.session) s.session.deliveredWh += evW * dtH;
    s.t = t + dtMs;

    if (!step) return null;
    const reported = !(faults?.gap && t >= faults.gap.from && t < faults.gap.to);
    return { timestamp: t, reported, readings: step, truth: { loadW, generationW, evW, soc } };
  }

  private readings(
    t: number,
    dtMs: number,
    generation: number[],
    batteryW: number,
    meterW: number,
    evW: number,
  ): SiteReadings {
    const { profile: p } = this.opts;
    const s = this.state;
    const key = this.key;
    const make = this.opts.make ?? "Simulated";
    const readTime = (i: number) => 20 + Math.floor(180 * unit(key, CH.readTime, Math.floor(t / dtMs), i));
    const wh = (name: string) => Math.floor(s.wh[name]!);

    const pv: PvReading[] = generation.map((w, i) => {
      const peak = p.pvArraysW[i]!;
      const volts = w > 0 ? round(300 + 60 * Math.min(1, (w / peak) * 3), 1) : 0;
      return {
        type: "pv",
        timestamp: t,
        make,
        read_time_ms: readTime(i),
        W: -w + 0,
        rated_power_W: peak,
        mppt1_V: volts,
        mppt1_A: volts > 0 ? round(w / volts, 2) : 0,
        heatsink_C: round(12 + (28 * w) / peak + 2 * smoothNoise(key, CH.heat, t, 10 * MINUTE), 1),
        total_generation_Wh: wh(`pv${i}`),
      };
    });

    const batteryVolts = round(46 + 8 * s.soc, 2);
    const battery: BatteryReading = {
      type: "battery",
      timestamp: t,
      make,
      read_time_ms: readTime(50),
      W: batteryW,
      V: batteryVolts,
      A: round(batteryW / batteryVolts, 2),
      SoC_nom_fract: round(s.soc, 3),
      heatsink_C: round(18 + Math.abs(batteryW) / 400, 1),
      total_charge_Wh: wh("charge"),
      total_discharge_Wh: wh("discharge"),
    };

    const volts = [0, 1, 2].map((i) =>
      round(230 + 4 * (smoothNoise(key, CH.volt + 10 * i, t, MINUTE) - 0.5), 1),
    );
    const l1 = Math.round(meterW * (0.3 + 0.1 * smoothNoise(key, CH.phase, t, 5 * MINUTE)));
    const l2 = Math.round((meterW - l1) * (0.45 + 0.1 * smoothNoise(key, CH.phase + 1, t, 5 * MINUTE)));
    const phases = [l1, l2, meterW - l1 - l2].map((w) => w + 0);
    const meter: MeterReading = {
      type: "meter",
      timestamp: t,
      make,
      read_time_ms: readTime(60),
      W: meterW,
      Hz: round(49.97 + 0.06 * smoothNoise(key, CH.hz, t, 30_000), 3),
      L1_V: volts[0]!,
      L1_A: round(Math.abs(phases[0]!) / volts[0]!, 2),
      L1_W: phases[0]!,
      L2_V: volts[1]!,
      L2_A: round(Math.abs(phases[1]!) / volts[1]!, 2),
      L2_W: phases[1]!,
      L3_V: volts[2]!,
      L3_A: round(Math.abs(phases[2]!) / volts[2]!, 2),
      L3_W: phases[2]!,
      total_import_Wh: wh("import"),
      total_export_Wh: wh("export"),
    };

    let evPort: EvChargerPortReading | null = null;
    if (p.charger) {
      const phaseCount = p.charger.phases;
      const amps = round(evW / phaseCount / 230, 2);
      const inSession = s.session !== null;
      evPort = {
        type: "ev_charger_port",
        timestamp: t,
        make,
        read_time_ms: readTime(70),
        connector_status: inSession ? "occupied" : "available",
        charging_state: !inSession ? "idle" : evW > 0 ? "charging" : "suspended_ev",
        W: evW,
        L1_V: volts[0]!,
        L1_A: amps,
        ...(phaseCount === 3 ? { L2_V: volts[1]!, L2_A: amps, L3_V: volts[2]!, L3_A: amps } : {}),
        total_charge_Wh: wh("ev"),
        session_charge_Wh: s.session ? Math.floor(s.session.deliveredWh) : null,
        session_id: s.session ? s.session.id : null,
        upper_limit_W: [0, p.charger.maxW],
        lower_limit_W: [0, phaseCount * 6 * 230],
      };
    }
    return { pv, battery, meter, evPort };
  }
}
