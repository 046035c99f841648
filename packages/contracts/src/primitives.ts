import { z } from "zod";

/** Any platform id (`dev-…`, `org-…`, a charge point serial, …). Prefixes are the registry's business. */
export const IdSchema = z.string().min(1);

/** A point in time as an ISO 8601 string in UTC, e.g. `2024-05-01T12:30:00.000Z`. */
export const IsoDateTimeSchema = z.iso.datetime();

/** An amount of energy in whole watt-hours; never negative. */
export const WattHoursSchema = z.int().min(0);
