import type { OcppCommand } from "@energy/contracts";
import { describe, expect, it } from "vitest";
import { answerStatus, toOcppCall } from "../src/domain/commands.ts";

const opts = { now: new Date("2026-12-01T10:00:00Z"), remoteStartId: 7 };

describe("one command vocabulary, two OCPP versions", () => {
  it.each<[OcppCommand, string, string]>([
    [
      { command: "remote_start", idTag: "T", connectorId: 1 },
      "RemoteStartTransaction",
      "RequestStartTransaction",
    ],
    [{ command: "remote_stop", transactionId: "12" }, "RemoteStopTransaction", "RequestStopTransaction"],
    [{ command: "reset", type: "soft" }, "Reset", "Reset"],
    [
      { command: "change_availability", connectorId: 1, available: false },
      "ChangeAvailability",
      "ChangeAvailability",
    ],
    [{ command: "unlock_connector", connectorId: 1 }, "UnlockConnector", "UnlockConnector"],
    [
      { command: "trigger_message", message: "StatusNotification", connectorId: 1 },
      "TriggerMessage",
      "TriggerMessage",
    ],
    [
      { command: "set_power_limit", connectorId: 1, limitW: 7000 },
      "SetChargingProfile",
      "SetChargingProfile",
    ],
    [{ command: "clear_power_limit", connectorId: 1 }, "ClearChargingProfile", "ClearChargingProfile"],
    [
      {
        command: "reserve_now",
        reservationId: 3,
        connectorId: 1,
        idTag: "T",
        expiresAt: "2026-12-01T11:00:00Z",
      },
      "ReserveNow",
      "ReserveNow",
    ],
    [{ command: "cancel_reservation", reservationId: 3 }, "CancelReservation", "CancelReservation"],
    [
      { command: "get_configuration", keys: ["OCPPCommCtrlr.HeartbeatInterval"] },
      "GetConfiguration",
      "GetVariables",
    ],
    [
      { command: "set_configuration", key: "OCPPCommCtrlr.HeartbeatInterval", value: "30" },
      "ChangeConfiguration",
      "SetVariables",
    ],
  ])("%j → 1.6 %s, 2.0.1 %s", (command, v16, v201) => {
    expect(toOcppCall("1.6", command, opts)).toMatchObject({ ok: true, action: v16 });
    expect(toOcppCall("2.0.1", command, opts)).toMatchObject({ ok: true, action: v201 });
  });

  it("get_base_report is 2.0.1's GetBaseReport; a 1.6 charger has no device model", () => {
    const command: OcppCommand = { command: "get_base_report", reportBase: "FullInventory", requestId: 42 };
    expect(toOcppCall("2.0.1", command, opts)).toEqual({
      ok: true,
      action: "GetBaseReport",
      params: { requestId: 42, reportBase: "FullInventory" },
    });
    expect(toOcppCall("1.6", command, opts)).toEqual({
      ok: false,
      message: expect.stringContaining("use get_configuration"),
    });
  });

  it("the payloads follow each version's shape", () => {
    expect(toOcppCall("1.6", { command: "reset", type: "hard" }, opts)).toMatchObject({
      params: { type: "Hard" },
    });
    expect(toOcppCall("2.0.1", { command: "reset", type: "hard" }, opts)).toMatchObject({
      params: { type: "Immediate" },
    });
    expect(toOcppCall("2.0.1", { command: "remote_start", idTag: "T", connectorId: 2 }, opts)).toMatchObject({
      params: { idToken: { idToken: "T", type: "Central" }, remoteStartId: 7, evseId: 2 },
    });
    expect(
      toOcppCall("1.6", { command: "set_power_limit", connectorId: 0, limitW: 5000 }, opts),
    ).toMatchObject({
      params: {
        connectorId: 0,
        csChargingProfiles: {
          chargingProfilePurpose: "ChargePointMaxProfile",
          chargingSchedule: {
            chargingRateUnit: "W",
            chargingSchedulePeriod: [{ startPeriod: 0, limit: 5000 }],
          },
        },
      },
    });
    expect(toOcppCall("2.0.1", { command: "set_configuration", key: "A.B", value: "1" }, opts)).toMatchObject(
      {
        params: {
          setVariableData: [{ component: { name: "A" }, variable: { name: "B" }, attributeValue: "1" }],
        },
      },
    );
  });

  it.each<[OcppCommand, "1.6" | "2.0.1", string]>([
    [{ command: "remote_stop", transactionId: "abc" }, "1.6", "integer"],
    [{ command: "get_configuration" }, "2.0.1", "Component.Variable"],
    [{ command: "set_configuration", key: "NoDot", value: "1" }, "2.0.1", "Component.Variable"],
  ])("%j cannot be sent to a %s charger", (command, version, why) => {
    const call = toOcppCall(version, command, opts);
    expect(call.ok).toBe(false);
    expect(call.ok ? "" : call.message).toContain(why);
  });

  it.each([
    [{ status: "Accepted" }, "Accepted"],
    [{ getVariableResult: [{ attributeStatus: "UnknownVariable" }] }, "UnknownVariable"],
    [{ configurationKey: [] }, null],
  ])("the status word of %j is %s", (response, status) => {
    expect(answerStatus(response)).toBe(status);
  });
});
