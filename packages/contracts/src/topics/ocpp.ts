import { z } from "zod";
import { ChargingStateSchema, ConnectorStatusSchema } from "../enums.ts";
import { IdSchema, IsoDateTimeSchema, WattHoursSchema } from "../primitives.ts";
import { EvChargerPortReadingSchema } from "../telemetry/ev-charger-port.ts";
import { V2xChargerReadingSchema } from "../telemetry/v2x-charger.ts";
import { defineTopic } from "../topic.ts";

export const OcppVersionSchema = z.enum(["1.6", "2.0.1"]);
export type OcppVersion = z.infer<typeof OcppVersionSchema>;

/** OCPP's integers are 32-bit (and so are the ocpp service's columns). */
const INT32_MAX = 2_147_483_647;
/** 0 is the whole charge point in OCPP; connectors count from 1 (2.0.1: the EVSE id). */
const connectorId = z.int().min(0).max(INT32_MAX);
/** OCPP 1.6 integer ids are sent as strings, so both versions fit (2.0.1: identifierString of at most 36). */
const transactionId = z.string().min(1).max(36);
/** a 1.6 key (CiString50) or a 2.0.1 `Component.Variable` (two names of at most 50 and the dot) */
const configurationKey = z.string().min(1).max(101);

// The command vocabulary: one set of commands for both OCPP versions; the ocpp service turns each into
// the version's action (remote_start → 1.6 RemoteStartTransaction / 2.0.1 RequestStartTransaction).
const port = z.int().min(1).max(INT32_MAX);
export const OcppCommandSchema = z.discriminatedUnion("command", [
  z.object({
    command: z.literal("remote_start"),
    connectorId: port.optional(),
    idTag: z.string().min(1).max(20),
  }),
  z.object({ command: z.literal("remote_stop"), transactionId }),
  z.object({ command: z.literal("reset"), type: z.enum(["soft", "hard"]) }),
  z.object({ command: z.literal("change_availability"), connectorId, available: z.boolean() }),
  z.object({ command: z.literal("unlock_connector"), connectorId: port }),
  z.object({
    command: z.literal("trigger_message"),
    message: z.enum(["BootNotification", "Heartbeat", "StatusNotification", "MeterValues"]),
    connectorId: port.optional(),
  }),
  /** A power limit in W on a connector (0: the whole charge point), as a charging profile. */
  z.object({ command: z.literal("set_power_limit"), connectorId, limitW: z.int().min(0).max(INT32_MAX) }),
  z.object({ command: z.literal("clear_power_limit"), connectorId: connectorId.optional() }),
  z.object({
    command: z.literal("reserve_now"),
    reservationId: z.int().min(0).max(INT32_MAX),
    connectorId,
    idTag: z.string().min(1).max(20),
    expiresAt: IsoDateTimeSchema,
  }),
  z.object({ command: z.literal("cancel_reservation"), reservationId: z.int().min(0).max(INT32_MAX) }),
  /** 1.6 configuration keys; 2.0.1 `Component.Variable` (e.g. OCPPCommCtrlr.HeartbeatInterval). */
  z.object({ command: z.literal("get_configuration"), keys: z.array(configurationKey).max(100).optional() }),
  /** the value: 1.6 CiString500, 2.0.1 attributeValue of at most 1,000 */
  z.object({ command: z.literal("set_configuration"), key: configurationKey, value: z.string().max(1000) }),
  /**
   * 2.0.1 GetBaseReport: the charger sends its device model in NotifyReport parts carrying `requestId`
   * (1.6 has no device model: get_configuration).
   */
  z.object({
    command: z.literal("get_base_report"),
    reportBase: z.enum(["ConfigurationInventory", "FullInventory", "SummaryInventory"]),
    requestId: z.int().min(0).max(INT32_MAX),
  }),
]);
export type OcppCommand = z.infer<typeof OcppCommandSchema>;
export type OcppCommandName = OcppCommand["command"];

export const ocppTopics = {
  ocppCharger: defineTopic({
    name: "ocpp.charger.v1",
    owner: "ocpp",
    key: "charge point id",
    keyOf: (p) => p.chargePointId,
    events: {
      "charger.connected": z.object({
        chargePointId: IdSchema,
        ocppVersion: OcppVersionSchema,
        /** The instance of the ocpp service holding the socket. */
        instanceId: z.string().min(1),
      }),
      "charger.disconnected": z.object({ chargePointId: IdSchema, reason: z.string().nullable() }),
      "charger.booted": z.object({
        chargePointId: IdSchema,
        vendor: z.string(),
        model: z.string(),
        serialNumber: z.string().nullable(),
        firmwareVersion: z.string().nullable(),
        /** Accepted, Pending or Rejected: what the charger was answered. */
        registrationStatus: z.enum(["Accepted", "Pending", "Rejected"]),
        /** The charger's clock minus the receive time, when it is off by more than the tolerance. */
        clockSkewMs: z.int().nullable(),
      }),
      /** An owner or admin accepted or rejected a charger: its BootNotifications are answered with it. */
      "charger.registration_changed": z.object({
        chargePointId: IdSchema,
        status: z.enum(["Accepted", "Rejected"]),
        /** the identity that decided */
        decidedBy: IdSchema,
        /** the TriggerMessage BootNotification sent so a connected charger boots again now, if any */
        triggerCommandId: z.uuid().nullable(),
      }),
      /** A reservation (ReserveNow, accepted) ran out unused: its expiry passed here, or the charger said so. */
      "reservation.expired": z.object({
        chargePointId: IdSchema,
        reservationId: z.int().min(0).max(INT32_MAX),
        connectorId,
        idTag: z.string(),
        expiresAt: IsoDateTimeSchema,
        /** central_system: its expiry passed with no transaction; charger: 2.0.1 ReservationStatusUpdate */
        detectedBy: z.enum(["central_system", "charger"]),
      }),
      /** A transaction started on a reservation (1.6 StartTransaction / 2.0.1 TransactionEvent reservationId). */
      "reservation.used": z.object({
        chargePointId: IdSchema,
        reservationId: z.int().min(0).max(INT32_MAX),
        connectorId,
        transactionId,
        /** the id tag the transaction started with (the reservation's, or one under its parent) */
        idTag: z.string().nullable(),
        /** the charger's time of the transaction's start */
        usedAt: IsoDateTimeSchema,
      }),
      /** A security event the charger reported (2.0.1 SecurityEventNotification; 1.6 security extension). */
      "security_event.reported": z.object({
        chargePointId: IdSchema,
        /** OCPP's Security Events list (e.g. TamperDetectionActivated); another type is passed on as sent */
        type: z.string().min(1).max(50),
        /** whether OCPP's list marks the type critical */
        critical: z.boolean(),
        /** the charger's time of the event, and when it reached the service */
        occurredAt: IsoDateTimeSchema,
        receivedAt: IsoDateTimeSchema,
        techInfo: z.string().max(255).nullable(),
      }),
      "connector.status_changed": z.object({
        chargePointId: IdSchema,
        connectorId,
        connectorStatus: ConnectorStatusSchema,
        chargingState: ChargingStateSchema.nullable(),
        /** The status word the charger sent, e.g. SuspendedEV. */
        ocppStatus: z.string(),
        errorCode: z.string().nullable(),
        /** The charger's time of the status (its clock), and when it reached the service. */
        statusAt: IsoDateTimeSchema,
        receivedAt: IsoDateTimeSchema,
      }),
      /**
       * A reading of one connector for ingestion, addressed to the ev_charger_port DER of the connector
       * (ev_charger_port for ev_charger devices, v2x_charger for v2x_charger devices).
       */
      "reading.measured": z.object({
        chargePointId: IdSchema,
        connectorId: connectorId.min(1),
        derId: IdSchema,
        reading: z.union([EvChargerPortReadingSchema, V2xChargerReadingSchema]),
      }),
    },
  }),
  ocppTransaction: defineTopic({
    name: "ocpp.transaction.v1",
    owner: "ocpp",
    key: "charge point id",
    keyOf: (p) => p.chargePointId,
    events: {
      "transaction.started": z.object({
        chargePointId: IdSchema,
        connectorId,
        transactionId,
        idTag: z.string().nullable(),
        meterStartWh: WattHoursSchema.nullable(),
        /** The charger's time; receivedAt is when the service got it (they differ for queued messages). */
        startedAt: IsoDateTimeSchema,
        receivedAt: IsoDateTimeSchema,
      }),
      "transaction.updated": z.object({
        chargePointId: IdSchema,
        connectorId,
        transactionId,
        meterWh: WattHoursSchema.nullable(),
        powerW: z.int().nullable(),
        chargingState: ChargingStateSchema.nullable(),
        measuredAt: IsoDateTimeSchema,
      }),
      "transaction.ended": z.object({
        chargePointId: IdSchema,
        connectorId,
        transactionId,
        meterStopWh: WattHoursSchema.nullable(),
        /** meter stop - meter start; null when either is unknown. */
        energyWh: WattHoursSchema.nullable(),
        stopReason: z.string().nullable(),
        endedAt: IsoDateTimeSchema,
        receivedAt: IsoDateTimeSchema,
        /** No start was ever seen for this transaction (a stop for an unknown id is still recorded). */
        unknownStart: z.boolean(),
      }),
    },
  }),
  ocppCommand: defineTopic({
    name: "ocpp.command.v1",
    owner: "ocpp",
    key: "charge point id",
    keyOf: (p) => p.chargePointId,
    events: {
      "command.requested": z.object({
        commandId: z.uuid(),
        chargePointId: IdSchema,
        request: OcppCommandSchema,
        /** Identity id of the caller. */
        requestedBy: IdSchema,
      }),
    },
  }),
  ocppCommandResult: defineTopic({
    name: "ocpp.command-result.v1",
    owner: "ocpp",
    key: "charge point id",
    keyOf: (p) => p.chargePointId,
    events: {
      "command.completed": z.object({
        commandId: z.uuid(),
        chargePointId: IdSchema,
        command: z.string().min(1),
        /** The OCPP action sent, e.g. RemoteStartTransaction. */
        action: z.string().min(1),
        /** The charger's status word (Accepted, Rejected, …) when its answer has one. */
        status: z.string().nullable(),
        response: z.record(z.string(), z.unknown()),
      }),
      "command.failed": z.object({
        commandId: z.uuid(),
        chargePointId: IdSchema,
        command: z.string().min(1),
        action: z.string().nullable(),
        /** NotConnected, UnknownChargePoint, Timeout, InvalidCommand, or the charger's CALLERROR code. */
        errorCode: z.string().min(1),
        errorMessage: z.string(),
      }),
    },
  }),
};
