import { z } from "zod";
import { IdSchema, IsoDateTimeSchema, WattHoursSchema } from "../primitives.ts";
import { defineTopic } from "../topic.ts";

/**
 * history: the energy of [start, end]; delta: energy since the previous read, computed by the
 * developer; aggregate: a running counter, energy is the difference to the previous read.
 */
export const ReadTypeSchema = z.enum(["history", "delta", "aggregate"]);
export type ReadType = z.infer<typeof ReadTypeSchema>;

export const AcceptedReadSchema = z.object({
  readId: IdSchema,
  deviceId: IdSchema,
  orgId: IdSchema,
  readType: ReadTypeSchema,
  /** Start of the energy interval; null for a device's first delta/aggregate read. */
  start: IsoDateTimeSchema.nullable(),
  /** The read's timestamp, end of the energy interval. */
  end: IsoDateTimeSchema,
  /** The value as entered, in Wh. */
  value: WattHoursSchema,
  /** Energy produced in [start, end], in Wh; null until a previous read gives a start. */
  energyWh: WattHoursSchema.nullable(),
});
export type AcceptedRead = z.infer<typeof AcceptedReadSchema>;

export const meterReadTopics = {
  meterReadRead: defineTopic({
    name: "meter-read.read.v1",
    owner: "meter-read",
    key: "device id",
    keyOf: (p) => p.deviceId,
    events: {
      "read.accepted": AcceptedReadSchema,
    },
  }),
};
