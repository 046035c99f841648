import type { DeviceState } from "@energy/contracts";
import { describe, expect, it } from "vitest";
import { deviceTransition, type StateChanger } from "../src/domain/device-states.ts";

describe("the device state machine", () => {
  it.each([
    ["pending", "active", "member", "changed"],
    ["orphaned", "active", "member", "changed"], // a member's explicit change is the only way out of orphaned
    ["active", "orphaned", "member", "changed"],
    ["active", "active", "member", "unchanged"],
    ["pending", "active", "liveness", "changed"],
    ["active", "stale", "liveness", "changed"],
    ["stale", "disconnected", "liveness", "changed"],
    ["disconnected", "disconnected", "liveness", "unchanged"],
    ["orphaned", "active", "liveness", "refused"], // never revived by readings
    ["orphaned", "disconnected", "liveness", "refused"],
    ["active", "error", "liveness", "refused"],
    ["active", "orphaned", "claim", "changed"],
    ["pending", "orphaned", "claim", "changed"],
    ["orphaned", "orphaned", "claim", "unchanged"],
    ["active", "pending", "claim", "refused"],
  ] as [DeviceState, DeviceState, StateChanger, string][])("%s → %s by %s: %s", (from, to, by, outcome) => {
    expect(deviceTransition(from, to, by).outcome).toBe(outcome);
  });

  it("says why a liveness report does not revive an orphaned device", () => {
    expect(deviceTransition("orphaned", "active", "liveness")).toEqual({
      outcome: "refused",
      reason: "an orphaned device is revived only by a member's change of state",
    });
  });
});
