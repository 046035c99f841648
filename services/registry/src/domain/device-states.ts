import type { DeviceState } from "@energy/contracts";

/**
 * The device state machine: who moves a device's state, and to what.
 * - a member (owner, admin, operator, PATCH): any state; the only way out of `orphaned`;
 * - ingestion's liveness reports: `active`, `stale` or `disconnected`, never out of `orphaned` (readings do not
 *   revive a device whose gateway another organization claimed);
 * - a gateway claimed by another organization: the previous organization's devices on it become `orphaned`.
 */
export type StateChanger = "member" | "liveness" | "claim";

const LIVENESS_STATES: readonly DeviceState[] = ["active", "stale", "disconnected"];

export type Transition =
  | { outcome: "changed" }
  | { outcome: "unchanged" }
  | { outcome: "refused"; reason: string };

/** What happens when `by` moves a device from `from` to `to`. */
export function deviceTransition(from: DeviceState, to: DeviceState, by: StateChanger): Transition {
  if (from === to) return { outcome: "unchanged" };
  switch (by) {
    case "member":
      return { outcome: "changed" };
    case "liveness":
      if (!LIVENESS_STATES.includes(to)) {
        return { outcome: "refused", reason: `liveness sets only ${LIVENESS_STATES.join(", ")}, not ${to}` };
      }
      if (from === "orphaned") {
        return {
          outcome: "refused",
          reason: "an orphaned device is revived only by a member's change of state",
        };
      }
      return { outcome: "changed" };
    case "claim":
      return to === "orphaned"
        ? { outcome: "changed" }
        : { outcome: "refused", reason: `a gateway claim orphans devices; it does not set ${to}` };
  }
}
