/**
 * A charger's registration: what its BootNotification is answered, and what it may send before it is
 * Accepted (OCPP 1.6 §4.2 / §3.1.2 and 2.0.1 B02 Pending, B03 Rejected).
 */
export type RegistrationStatus = "Accepted" | "Pending" | "Rejected";
/** An operator's decision (PUT .../registration), stored in charger_registration. */
export type RegistrationDecision = "Accepted" | "Rejected";

/** The answer to a BootNotification: the operator's decision when there is one, else the policy. */
export function bootAnswer(
  decision: RegistrationDecision | null,
  policy: "Accepted" | "Pending",
): RegistrationStatus {
  return decision ?? policy;
}

/**
 * What a Pending charger may send without being asked. 1.6 §4.2: a Pending charge point "SHALL NOT send
 * request messages ... unless it has been instructed ... with a TriggerMessage"; 2.0.1 B02 the same,
 * and NotifyReport answers a GetBaseReport/GetReport the CSMS may send while Pending (B02). Heartbeat
 * is let through: chargers keep sending it while they wait, it changes nothing but last_heartbeat, and
 * refusing it gains nothing.
 */
const PENDING_MAY_SEND = new Set(["BootNotification", "Heartbeat", "NotifyReport"]);

/** The answer to a message from a charger whose boot was not (yet) Accepted: allowed, or why not. */
export type CallPermission = { allowed: true; triggered: boolean } | { allowed: false; reason: string };

/**
 * Whether a charger may send `action` now. Accepted: anything. Rejected: only BootNotification (1.6 §4.2,
 * 2.0.1 B03). Pending, or not booted on this connection: BootNotification, Heartbeat, NotifyReport,
 * and a message the central system asked for with a TriggerMessage the charger accepted (`triggered`, the
 * requested messages not yet received; one trigger lets one message through).
 */
export function mayCall(
  bootStatus: string | null,
  action: string,
  triggered: ReadonlySet<string>,
): CallPermission {
  if (bootStatus === "Accepted" || action === "BootNotification") return { allowed: true, triggered: false };
  const state = bootStatus ?? "not booted";
  if (bootStatus === "Rejected") {
    return {
      allowed: false,
      reason: `${action} is not accepted from a charge point whose BootNotification was Rejected`,
    };
  }
  if (PENDING_MAY_SEND.has(action)) return { allowed: true, triggered: false };
  if (triggered.has(action)) return { allowed: true, triggered: true };
  return {
    allowed: false,
    reason: `${action} is not accepted before the charge point's BootNotification is Accepted (it is ${state}) unless asked for with a TriggerMessage`,
  };
}
