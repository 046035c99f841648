import type { LivenessState } from "@energy/contracts";

/** How long a device may stay silent: stale after the first, disconnected after the second (ms). */
export interface LivenessThresholds {
  staleAfterMs: number;
  disconnectedAfterMs: number;
}

/** What liveness knows of a device: its state, its last contact and when the state last changed (ms). */
export interface LivenessRecord {
  state: string;
  lastSeenAt: number | null;
  changedAt: number;
}

/**
 * The state a device's silence calls for at `now`: active, stale once it has been silent for
 * staleAfterMs, disconnected once silent for disconnectedAfterMs. Silence counts from the last contact,
 * or, for a device never heard from, from its last change of state.
 */
export function livenessDue(
  record: LivenessRecord,
  now: number,
  thresholds: LivenessThresholds,
): LivenessState {
  const silentMs = now - (record.lastSeenAt ?? record.changedAt);
  if (silentMs >= thresholds.disconnectedAfterMs) return "disconnected";
  if (silentMs >= thresholds.staleAfterMs) return "stale";
  return "active";
}

const RANK: Record<LivenessState, number> = { active: 0, stale: 1, disconnected: 2 };

/**
 * The state a sweep moves the device to, or null when it stays as it is. A sweep only moves a device
 * down (active → stale → disconnected, or straight to disconnected when both times have passed); only a
 * reading brings it back to active. A state that is not a liveness state is left alone.
 */
export function livenessChange(
  record: LivenessRecord,
  now: number,
  thresholds: LivenessThresholds,
): LivenessState | null {
  if (!Object.hasOwn(RANK, record.state)) return null;
  const due = livenessDue(record, now, thresholds);
  return RANK[due] > RANK[record.state as LivenessState] ? due : null;
}
