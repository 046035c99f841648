import { z } from "zod";
import { IdSchema, IsoDateTimeSchema, WattHoursSchema } from "../primitives.ts";
import { defineTopic } from "../topic.ts";

/**
 * How a developer reports energy (D-REC "Meter Reads v1"):
 * - history: the energy of one tenure [start, end), back-dated;
 * - delta: the energy since the previous entry, computed by the developer;
 * - aggregate: a running register; the energy is current − previous register value.
 * Reads from telemetry (ingestion intervals) are history reads of half an hour with source "telemetry".
 */
export const ReadTypeSchema = z.enum(["history", "delta", "aggregate"]);
export type ReadType = z.infer<typeof ReadTypeSchema>;

/** Where a read came from: the developer's API call or the device's telemetry through ingestion. */
export const ReadSourceSchema = z.enum(["api", "telemetry"]);
export type ReadSource = z.infer<typeof ReadSourceSchema>;

/**
 * Why a counted read is stored but flagged (it is still published; a consumer decides what to do):
 * - older_than_3_years: its tenure starts more than 3 years before the day it was stored (I-REC: not
 *   eligible for certification; `eligible` is false);
 * - above_yield_expectation: with the 20 % margin it exceeds what the device's yield predicts for the
 *   period (below its physical limit, which refuses).
 */
export const ReadFlagSchema = z.enum(["older_than_3_years", "above_yield_expectation"]);
export type ReadFlag = z.infer<typeof ReadFlagSchema>;

/** Most reads in one message: 1,000 counted reads stay well under Kafka's 1 MB message limit. */
export const MAX_READS_PER_MESSAGE = 1000;

/**
 * One counted read: the energy produced in [start, end), in whole Wh. A device's first delta or
 * aggregate read only sets a starting point and is never published.
 */
export const CountedReadSchema = z.object({
  /** Stable id of the read across its versions (`mrd-…`). */
  readId: IdSchema,
  /** 1 for the first version; a correction publishes the next one. */
  version: z.int().min(1),
  readType: ReadTypeSchema,
  source: ReadSourceSchema,
  /** Inclusive start of the metered period. */
  start: IsoDateTimeSchema,
  /** Exclusive end of the metered period (the read's timestamp). */
  end: IsoDateTimeSchema,
  /** Energy produced in [start, end), whole Wh. */
  energyWh: WattHoursSchema,
  /** The value as entered, converted to Wh (the register value for aggregate reads). */
  valueWh: WattHoursSchema,
  /** false when the tenure starts more than 3 years before it was stored (I-REC). */
  eligible: z.boolean(),
  flags: z.array(ReadFlagSchema),
  /**
   * sha256 (hex) of `deviceId|start|end|energyWh|source` (ISO timestamps as published): the same
   * energy over the same period always hashes the same, so a certificate can name exactly what it
   * was issued from.
   */
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** When meter-read stored this version. */
  recordedAt: IsoDateTimeSchema,
});
export type CountedRead = z.infer<typeof CountedReadSchema>;

/** A new version of a read that replaces an earlier one of the same readId (a corrected interval). */
export const CorrectedReadSchema = CountedReadSchema.extend({
  version: z.int().min(2),
  previousEnergyWh: WattHoursSchema,
  previousContentHash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type CorrectedRead = z.infer<typeof CorrectedReadSchema>;

/** Reads of one device, in order of `end`; at most MAX_READS_PER_MESSAGE per message. */
export const ReadsRecordedSchema = z.object({
  deviceId: IdSchema,
  orgId: IdSchema,
  reads: z.array(CountedReadSchema).min(1).max(MAX_READS_PER_MESSAGE),
});
export type ReadsRecorded = z.infer<typeof ReadsRecordedSchema>;

export const ReadsCorrectedSchema = z.object({
  deviceId: IdSchema,
  orgId: IdSchema,
  reads: z.array(CorrectedReadSchema).min(1).max(MAX_READS_PER_MESSAGE),
});
export type ReadsCorrected = z.infer<typeof ReadsCorrectedSchema>;

export const meterReadTopics = {
  meterReadRead: defineTopic({
    name: "meter-read.read.v1",
    owner: "meter-read",
    key: "device id",
    keyOf: (p) => p.deviceId,
    events: {
      /** New counted reads (first versions). */
      "reads.recorded": ReadsRecordedSchema,
      /** Later versions replacing earlier ones; the energy to use is the new energyWh. */
      "reads.corrected": ReadsCorrectedSchema,
    },
  }),
};
