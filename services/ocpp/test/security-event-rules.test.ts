import { describe, expect, it } from "vitest";
import { classifySecurityEvent, SECURITY_EVENT_TYPES } from "../src/domain/security-events.ts";

describe("security event types (OCPP's Security Events list)", () => {
  it.each([
    ["FirmwareUpdated", true, true],
    ["TamperDetectionActivated", true, true],
    ["SettingSystemTime", true, true],
    ["MaintenanceLoginFailed", true, true],
    ["InvalidMessages", true, false],
    ["FailedToAuthenticateAtCsms", true, false],
    ["InvalidTLSVersion", true, false],
    // a type the list does not name (a vendor's own): kept, and treated as critical so it is not missed
    ["AcmeDoorOpened", false, true],
    ["firmwareupdated", false, true],
  ])("%s: known %s, critical %s", (type, known, critical) => {
    expect(classifySecurityEvent(type)).toEqual({ known, critical });
  });

  it("lists the 20 types of the specification, each within the 50 characters of the message's type field", () => {
    expect(Object.keys(SECURITY_EVENT_TYPES)).toHaveLength(20);
    for (const type of Object.keys(SECURITY_EVENT_TYPES)) expect(type.length).toBeLessThanOrEqual(50);
  });
});
