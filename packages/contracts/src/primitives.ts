import { z } from "zod";

/** Longest id anywhere on the platform: generated ids are ~30 characters, OCPP charge point ids at most 48. */
export const ID_MAX_LENGTH = 128;

/** Any platform id (`dev-…`, `org-…`, a charge point serial, …). Prefixes are the registry's business. */
export const IdSchema = z.string().min(1).max(ID_MAX_LENGTH);

/** Largest value of a PostgreSQL `integer` (Prisma `Int`): a schema whose value lands in one is bounded by it. */
export const INT32_MAX = 2_147_483_647;

/** A point in time as an ISO 8601 string in UTC, e.g. `2024-05-01T12:30:00.000Z`. */
export const IsoDateTimeSchema = z.iso.datetime();

/** An amount of energy in whole watt-hours; never negative. */
export const WattHoursSchema = z.int().min(0);
