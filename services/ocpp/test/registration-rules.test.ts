import { describe, expect, it } from "vitest";
import { bootAnswer, mayCall } from "../src/domain/registration.ts";

describe("the answer to a BootNotification", () => {
  it.each([
    [null, "Accepted", "Accepted"],
    [null, "Pending", "Pending"],
    ["Accepted", "Pending", "Accepted"],
    ["Rejected", "Accepted", "Rejected"],
    ["Rejected", "Pending", "Rejected"],
  ] as const)("decision %s, policy %s → %s", (decision, policy, answer) => {
    expect(bootAnswer(decision, policy)).toBe(answer);
  });
});

describe("what a charger may send before it is Accepted (1.6 §4.2, 2.0.1 B02/B03)", () => {
  const none = new Set<string>();
  it.each([
    // Accepted: anything
    ["Accepted", "StartTransaction", none, true],
    ["Accepted", "StatusNotification", none, true],
    // Pending (or not booted on this connection): boot, heartbeat, a report asked for, and triggered messages
    ["Pending", "BootNotification", none, true],
    ["Pending", "Heartbeat", none, true],
    ["Pending", "NotifyReport", none, true],
    ["Pending", "StatusNotification", none, false],
    ["Pending", "StatusNotification", new Set(["StatusNotification"]), true],
    ["Pending", "MeterValues", new Set(["StatusNotification"]), false],
    ["Pending", "StartTransaction", none, false],
    ["Pending", "TransactionEvent", none, false],
    ["Pending", "Authorize", none, false],
    ["Pending", "FirmwareStatusNotification", none, false],
    ["Pending", "SecurityEventNotification", none, false],
    ["Pending", "DataTransfer", none, false],
    [null, "BootNotification", none, true],
    [null, "StatusNotification", none, false],
    [null, "Heartbeat", none, true],
    // Rejected: nothing but BootNotification, triggered or not
    ["Rejected", "BootNotification", none, true],
    ["Rejected", "Heartbeat", none, false],
    ["Rejected", "StatusNotification", new Set(["StatusNotification"]), false],
  ] as const)("%s: %s (triggered %o) → %s", (bootStatus, action, triggered, allowed) => {
    expect(mayCall(bootStatus, action, triggered).allowed).toBe(allowed);
  });

  it("says why a call is refused, and marks a triggered one (the trigger is used up)", () => {
    expect(mayCall("Pending", "StartTransaction", new Set())).toEqual({
      allowed: false,
      reason: expect.stringContaining("(it is Pending) unless asked for with a TriggerMessage"),
    });
    expect(mayCall("Rejected", "Heartbeat", new Set())).toEqual({
      allowed: false,
      reason: expect.stringContaining("was Rejected"),
    });
    expect(mayCall("Pending", "MeterValues", new Set(["MeterValues"]))).toEqual({
      allowed: true,
      triggered: true,
    });
  });
});
