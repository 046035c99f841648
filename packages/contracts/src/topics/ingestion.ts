import { z } from "zod";
import { DerTypeSchema, DeviceStateSchema } from "../enums.ts";
import { IdSchema, IsoDateTimeSchema } from "../primitives.ts";
import { ReadingErrorSchema, TelemetryReadingSchema } from "../telemetry/reading.ts";
import { defineTopic } from "../topic.ts";

const INTERVAL_MS = 30 * 60 * 1000;

/**
 * Energy of an interval in Wh, to the milliwatt-hour: not whole, because the energy between two
 * counter readings is split across the half-hours between them in proportion to time.
 */
const IntervalEnergySchema = z.number().min(0);

/**
 * Energy of one DER over one half hour, summed from its readings.
 * The energy fields the DER type does not have are null.
 */
export const IntervalSchema = z
  .object({
    derId: IdSchema,
    deviceId: IdSchema,
    orgId: IdSchema,
    derType: DerTypeSchema,
    /** On a :00 or :30 boundary (UTC). */
    intervalStart: IsoDateTimeSchema,
    /** intervalStart + 30 minutes. */
    intervalEnd: IsoDateTimeSchema,
    generationWh: IntervalEnergySchema.nullable(),
    importWh: IntervalEnergySchema.nullable(),
    exportWh: IntervalEnergySchema.nullable(),
    chargeWh: IntervalEnergySchema.nullable(),
    dischargeWh: IntervalEnergySchema.nullable(),
    readingCount: z.int().min(0),
  })
  .refine((interval) => Date.parse(interval.intervalStart) % INTERVAL_MS === 0, {
    path: ["intervalStart"],
    message: "intervalStart must be on a :00 or :30 boundary",
  })
  .refine(
    (interval) => Date.parse(interval.intervalEnd) - Date.parse(interval.intervalStart) === INTERVAL_MS,
    {
      path: ["intervalEnd"],
      message: "intervalEnd must be intervalStart + 30 minutes",
    },
  );
export type Interval = z.infer<typeof IntervalSchema>;

/**
 * The accepted readings of one DER from one batch (one message per DER and batch, not per reading:
 * at tens of thousands of readings a second the per-message cost of the Kafka client is the
 * largest cost of the path). In the order the gateway sent them.
 */
export const ReadingsAcceptedSchema = z.object({
  derId: IdSchema,
  deviceId: IdSchema,
  siteId: IdSchema,
  orgId: IdSchema,
  /** null for readings that came from the ocpp service. */
  gatewayId: IdSchema.nullable(),
  receivedAt: IsoDateTimeSchema,
  /** Already passed through normalizeReading. */
  readings: z.array(TelemetryReadingSchema).min(1),
});
export type ReadingsAccepted = z.infer<typeof ReadingsAcceptedSchema>;

/** The liveness states ingestion decides from the flow of readings. */
export const LivenessStateSchema = DeviceStateSchema.extract(["active", "stale", "disconnected"]);
export type LivenessState = z.infer<typeof LivenessStateSchema>;

/**
 * A device's liveness changed (active, stale, disconnected), as ingestion sees its readings. Not the
 * registry's lifecycle change, which has the same event type on registry.device.v1 (DeviceStateChangedSchema).
 */
export const DeviceLivenessChangedSchema = z.object({
  deviceId: IdSchema,
  orgId: IdSchema,
  from: DeviceStateSchema,
  to: LivenessStateSchema,
  /** null when the device never sent a reading. */
  lastSeenAt: IsoDateTimeSchema.nullable(),
});
export type DeviceLivenessChanged = z.infer<typeof DeviceLivenessChangedSchema>;

export const ingestionTopics = {
  ingestionRaw: defineTopic({
    name: "ingestion.raw.v1",
    owner: "ingestion",
    key: "gateway id",
    keyOf: (p) => p.gatewayId,
    events: {
      /** A gateway batch as a trusted bridge received it; ingestion checks the signature, then parses it. */
      "batch.received": z.object({
        gatewayId: IdSchema,
        signature: z.string().min(1),
        body: z.string(),
        receivedAt: IsoDateTimeSchema,
      }),
    },
  }),
  ingestionTelemetry: defineTopic({
    name: "ingestion.telemetry.v1",
    owner: "ingestion",
    key: "DER id",
    keyOf: (p) => p.derId,
    events: {
      "readings.accepted": ReadingsAcceptedSchema,
    },
  }),
  ingestionTelemetryRejected: defineTopic({
    name: "ingestion.telemetry-rejected.v1",
    owner: "ingestion",
    key: "gateway id (device id for readings without a gateway)",
    keyOf: (p) => p.gatewayId ?? p.deviceId ?? "unknown",
    events: {
      "reading.rejected": z.object({
        gatewayId: IdSchema.nullable(),
        deviceId: IdSchema.nullable(),
        derId: IdSchema.nullable(),
        receivedAt: IsoDateTimeSchema,
        reasons: z.array(ReadingErrorSchema).min(1),
        /** The reading as it came. */
        raw: z.unknown(),
      }),
    },
  }),
  ingestionInterval: defineTopic({
    name: "ingestion.interval.v1",
    owner: "ingestion",
    key: "DER id",
    keyOf: (p) => p.derId,
    events: {
      "interval.computed": IntervalSchema,
      /** Replaces the earlier values of the same derId + intervalStart (late readings). */
      "interval.corrected": IntervalSchema,
    },
  }),
  ingestionLiveness: defineTopic({
    name: "ingestion.liveness.v1",
    owner: "ingestion",
    key: "device id",
    keyOf: (p) => p.deviceId,
    events: {
      "device.state_changed": DeviceLivenessChangedSchema,
    },
  }),
};
