import { z } from "zod";
import { ChargingStateSchema, ConnectorStatusSchema } from "../enums.ts";
import { IdSchema, IsoDateTimeSchema, WattHoursSchema } from "../primitives.ts";
import { EvChargerPortReadingSchema } from "../telemetry/ev-charger-port.ts";
import { defineTopic } from "../topic.ts";

export const OcppVersionSchema = z.enum(["1.6", "2.0.1"]);

/** 0 is the whole charge point in OCPP; connectors count from 1. */
const connectorId = z.int().min(0);
/** OCPP 1.6 integer ids are sent as strings, so both versions fit. */
const transactionId = z.string().min(1);

export const ocppTopics = {
  ocppCharger: defineTopic({
    name: "ocpp.charger.v1",
    owner: "ocpp",
    key: "charge point id",
    keyOf: (p) => p.chargePointId,
    events: {
      "charger.connected": z.object({ chargePointId: IdSchema, ocppVersion: OcppVersionSchema }),
      "charger.disconnected": z.object({ chargePointId: IdSchema, reason: z.string().nullable() }),
      "charger.booted": z.object({
        chargePointId: IdSchema,
        vendor: z.string(),
        model: z.string(),
        serialNumber: z.string().nullable(),
        firmwareVersion: z.string().nullable(),
      }),
      "connector.status_changed": z.object({
        chargePointId: IdSchema,
        connectorId,
        connectorStatus: ConnectorStatusSchema,
        chargingState: ChargingStateSchema.nullable(),
        /** The status word the charger sent, e.g. SuspendedEV. */
        ocppStatus: z.string(),
        errorCode: z.string().nullable(),
      }),
      /** An ev_charger_port reading of one connector, for ingestion (not yet normalized). */
      "reading.measured": z.object({
        chargePointId: IdSchema,
        connectorId: connectorId.min(1),
        reading: EvChargerPortReadingSchema,
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
        meterStartWh: WattHoursSchema,
        startedAt: IsoDateTimeSchema,
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
        meterStopWh: WattHoursSchema,
        energyWh: WattHoursSchema,
        stopReason: z.string().nullable(),
        endedAt: IsoDateTimeSchema,
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
        /** OCPP action, e.g. RemoteStartTransaction, SetChargingProfile. */
        action: z.string().min(1),
        payload: z.record(z.string(), z.unknown()),
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
        action: z.string().min(1),
        response: z.record(z.string(), z.unknown()),
      }),
      "command.failed": z.object({
        commandId: z.uuid(),
        chargePointId: IdSchema,
        action: z.string().min(1),
        /** e.g. NotConnected, Timeout, Rejected, or an OCPP CallError code. */
        errorCode: z.string().min(1),
        errorMessage: z.string(),
      }),
    },
  }),
};
