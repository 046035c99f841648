import type { ConnectorStatus } from "@energy/contracts";

/** Connector statuses in which no power may flow: the bands collapse to [0] / [0]. */
const NO_CHARGING: readonly ConnectorStatus[] = ["faulted", "finishing", "unavailable"];

export interface BandInput {
  connectorStatus: ConnectorStatus;
  /** The connector's rated power (registry DER), or the service's default. */
  ratedPowerW: number;
  /** The lowest power it can charge at (the bottom of the charge band). */
  minChargeW: number;
  /** The power limit in force from a charging profile, in W; null when none. */
  limitW: number | null;
  /** A bidirectional (v2x) charger also has a discharge band. */
  bidirectional: boolean;
}

export interface Bands {
  upper_limit_W: number[];
  lower_limit_W: number[];
}

export const COLLAPSED: Bands = { upper_limit_W: [0], lower_limit_W: [0] };

/**
 * The power bands of a connector (seed: Power Limits). AC charger: idle [0, 0] and charge [min, max];
 * V2X: discharge [-max, -min], idle [0, 0], charge [min, max]. max is the rated power, lowered by the
 * limit in force. When charging is not allowed (status, or a limit below the lowest charge power) both
 * arrays collapse to [0].
 */
export function powerBands(input: BandInput): Bands {
  if (NO_CHARGING.includes(input.connectorStatus)) return COLLAPSED;
  const max = Math.round(Math.min(input.ratedPowerW, input.limitW ?? Number.POSITIVE_INFINITY));
  const min = Math.round(input.minChargeW);
  if (max < min || max <= 0) return COLLAPSED;
  if (input.bidirectional) {
    return { upper_limit_W: [-min, 0, max], lower_limit_W: [-max, 0, min] };
  }
  return { upper_limit_W: [0, max], lower_limit_W: [0, min] };
}
