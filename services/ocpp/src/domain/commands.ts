import type { OcppCommand, OcppVersion } from "@energy/contracts";

/** An OCPP call to send, or why the command cannot be sent to a charger of this version. */
export type OcppCall =
  | { ok: true; action: string; params: Record<string, unknown> }
  | { ok: false; message: string };

/** Charging profiles the platform sets use these ids (one per connector), so a new limit replaces the old. */
export const PROFILE_ID_BASE = 9000;
export const profileId = (connectorId: number) => PROFILE_ID_BASE + connectorId;

const call = (action: string, params: Record<string, unknown>): OcppCall => ({ ok: true, action, params });

function splitKey(key: string): { component: { name: string }; variable: { name: string } } | null {
  const dot = key.indexOf(".");
  if (dot <= 0 || dot === key.length - 1) return null;
  return { component: { name: key.slice(0, dot) }, variable: { name: key.slice(dot + 1) } };
}

/**
 * One command vocabulary for both versions: each command → the version's action and payload.
 * `now` places absolute charging schedules; `remoteStartId` is the 2.0.1 id of a remote start.
 */
export function toOcppCall(
  version: OcppVersion,
  command: OcppCommand,
  opts: { now: Date; remoteStartId: number },
): OcppCall {
  const v16 = version === "1.6";
  switch (command.command) {
    case "remote_start":
      return v16
        ? call("RemoteStartTransaction", {
            idTag: command.idTag,
            ...(command.connectorId !== undefined ? { connectorId: command.connectorId } : {}),
          })
        : call("RequestStartTransaction", {
            idToken: { idToken: command.idTag, type: "Central" },
            remoteStartId: opts.remoteStartId,
            ...(command.connectorId !== undefined ? { evseId: command.connectorId } : {}),
          });
    case "remote_stop": {
      if (!v16) return call("RequestStopTransaction", { transactionId: command.transactionId });
      const id = Number(command.transactionId);
      if (!Number.isSafeInteger(id)) {
        return {
          ok: false,
          message: `transactionId ${command.transactionId}: a 1.6 transaction id is an integer`,
        };
      }
      return call("RemoteStopTransaction", { transactionId: id });
    }
    case "reset":
      return v16
        ? call("Reset", { type: command.type === "hard" ? "Hard" : "Soft" })
        : call("Reset", { type: command.type === "hard" ? "Immediate" : "OnIdle" });
    case "change_availability": {
      const type = command.available ? "Operative" : "Inoperative";
      return v16
        ? call("ChangeAvailability", { connectorId: command.connectorId, type })
        : call("ChangeAvailability", {
            operationalStatus: type,
            ...(command.connectorId > 0 ? { evse: { id: command.connectorId } } : {}),
          });
    }
    case "unlock_connector":
      return v16
        ? call("UnlockConnector", { connectorId: command.connectorId })
        : call("UnlockConnector", { evseId: command.connectorId, connectorId: 1 });
    case "trigger_message":
      return v16
        ? call("TriggerMessage", {
            requestedMessage: command.message,
            ...(command.connectorId !== undefined ? { connectorId: command.connectorId } : {}),
          })
        : call("TriggerMessage", {
            requestedMessage: command.message,
            ...(command.connectorId !== undefined
              ? { evse: { id: command.connectorId, connectorId: 1 } }
              : {}),
          });
    case "set_power_limit": {
      const whole = command.connectorId === 0;
      const schedule = {
        chargingRateUnit: "W",
        chargingSchedulePeriod: [{ startPeriod: 0, limit: command.limitW }],
      };
      const start = opts.now.toISOString();
      return v16
        ? call("SetChargingProfile", {
            connectorId: command.connectorId,
            csChargingProfiles: {
              chargingProfileId: profileId(command.connectorId),
              stackLevel: 0,
              chargingProfilePurpose: whole ? "ChargePointMaxProfile" : "TxDefaultProfile",
              chargingProfileKind: "Absolute",
              chargingSchedule: { startSchedule: start, ...schedule },
            },
          })
        : call("SetChargingProfile", {
            evseId: command.connectorId,
            chargingProfile: {
              id: profileId(command.connectorId),
              stackLevel: 0,
              chargingProfilePurpose: whole ? "ChargingStationMaxProfile" : "TxDefaultProfile",
              chargingProfileKind: "Absolute",
              chargingSchedule: [{ id: 1, startSchedule: start, ...schedule }],
            },
          });
    }
    case "clear_power_limit":
      if (command.connectorId === undefined) {
        return v16 ? call("ClearChargingProfile", {}) : call("ClearChargingProfile", {});
      }
      return v16
        ? call("ClearChargingProfile", { id: profileId(command.connectorId) })
        : call("ClearChargingProfile", { chargingProfileId: profileId(command.connectorId) });
    case "reserve_now":
      return v16
        ? call("ReserveNow", {
            connectorId: command.connectorId,
            expiryDate: command.expiresAt,
            idTag: command.idTag,
            reservationId: command.reservationId,
          })
        : call("ReserveNow", {
            id: command.reservationId,
            expiryDateTime: command.expiresAt,
            idToken: { idToken: command.idTag, type: "Central" },
            ...(command.connectorId > 0 ? { evseId: command.connectorId } : {}),
          });
    case "cancel_reservation":
      return call("CancelReservation", { reservationId: command.reservationId });
    case "get_configuration": {
      if (v16) return call("GetConfiguration", command.keys ? { key: command.keys } : {});
      const keys = command.keys ?? [];
      if (keys.length === 0) {
        return {
          ok: false,
          message: "keys: a 2.0.1 charger is asked for named variables (Component.Variable)",
        };
      }
      const data = keys.map(splitKey);
      const bad = keys.find((_, i) => data[i] === null);
      if (bad !== undefined) return { ok: false, message: `keys: ${bad} is not Component.Variable` };
      return call("GetVariables", { getVariableData: data });
    }
    case "set_configuration": {
      if (v16) return call("ChangeConfiguration", { key: command.key, value: command.value });
      const target = splitKey(command.key);
      if (!target) return { ok: false, message: `key: ${command.key} is not Component.Variable` };
      return call("SetVariables", { setVariableData: [{ ...target, attributeValue: command.value }] });
    }
    case "get_base_report":
      if (v16) {
        return {
          ok: false,
          message: "get_base_report: a 1.6 charger has no device model (use get_configuration)",
        };
      }
      return call("GetBaseReport", { requestId: command.requestId, reportBase: command.reportBase });
  }
}

/** The charger's status word in an answer (Accepted, Rejected, Unlocked, …), when it has one. */
export function answerStatus(response: unknown): string | null {
  if (typeof response !== "object" || response === null) return null;
  const r = response as Record<string, unknown>;
  if (typeof r.status === "string") return r.status;
  for (const list of ["getVariableResult", "setVariableResult"]) {
    const first = (r[list] as Array<{ attributeStatus?: unknown }> | undefined)?.[0];
    if (typeof first?.attributeStatus === "string") return first.attributeStatus;
  }
  return null;
}
