import { z } from "zod";

/** `["upper_limit_W", 1]` → `"upper_limit_W[1]"`, `["reading", "W"]` → `"reading.W"`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    out += typeof key === "number" ? `[${key}]` : `${out ? "." : ""}${String(key)}`;
  }
  return out || "reading";
}

/** An error message that starts with the name of the field it is about, e.g. "W must be an integer". */
export function about(rule: string) {
  return {
    error: (issue: { path?: PropertyKey[]; input?: unknown }) =>
      `${fieldPath(issue.path ?? [])} ${issue.input === undefined ? "is required" : rule}`,
  };
}

// Building blocks for the telemetry models. Every measurement in a model is
// `.nullish()`: a field the gateway could not read is null or absent.

/** The largest whole number of a reading (power in W: 2.1 GW is beyond any single DER; an OCPP int32 id). */
export const INTEGER_MAX = 2_147_483_647;

/** Whole number: power in W, session ids; within ±INTEGER_MAX. */
export const integer = z
  .int(about("must be an integer"))
  .min(-INTEGER_MAX, about(`must be within ±${INTEGER_MAX}`))
  .max(INTEGER_MAX, about(`must be within ±${INTEGER_MAX}`))
  .describe("whole number (power in W, ids)");

/** Any finite number: volts, amperes, hertz, degrees, phase watts. */
export const float = z
  .number(about("must be a finite number"))
  .describe("finite number in the unit its name ends with (V, A, W, Hz, C for °C)");

/** The largest energy counter, Wh (1 PWh: no DER counts so far; a bound the store's float8 sums hold exactly). */
export const ENERGY_WH_MAX = 1_000_000_000_000_000;

/** Energy counter in whole Wh. */
export const energyWh = z
  .int(about("must be an integer number of Wh"))
  .min(0, about("must be >= 0: energy counters never go negative"))
  .max(ENERGY_WH_MAX, about(`must be at most ${ENERGY_WH_MAX} Wh`))
  .describe("energy in whole Wh; a total_… counter is cumulative (a counter that goes down was reset)");

/** State of charge and other fractions. */
export const fraction = float
  .min(0, about("must be within 0..1"))
  .max(1, about("must be within 0..1"))
  .describe("fraction within 0..1 (state of charge)");

/** Longest text field of a reading (a make, a status): a reading is a few hundred bytes, never a document. */
export const TEXT_MAX_LENGTH = 200;

/** In a `u` regular expression a surrogate pair is one code point: only a lone surrogate is category Cs. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Whether `text`'s refinements pass: no NUL, no lone surrogate (its length is checked apart). */
export const isStorableText = (s: string): boolean => !s.includes("\u0000") && !LONE_SURROGATE.test(s);

/**
 * Text the telemetry store can hold: PostgreSQL text and jsonb have no NUL, and a lone UTF-16 surrogate
 * (`\ud800` without its pair) is not Unicode, so jsonb refuses it too. Part of the model, so that whatever
 * accepts a reading by it (HTTP, WebSocket, Kafka bridge, ocpp) accepts only what the store can store.
 */
export const text = z
  .string(about("must be a string"))
  .max(TEXT_MAX_LENGTH, about(`must be at most ${TEXT_MAX_LENGTH} characters`))
  .refine((s) => !s.includes("\u0000"), about("must not contain a NUL character (\\u0000)"))
  .refine(
    (s) => !LONE_SURROGATE.test(s),
    about("must not contain a lone surrogate (\\ud800-\\udfff without its pair)"),
  )
  .describe(`text of at most ${TEXT_MAX_LENGTH} characters, without NUL or lone surrogates`);

export const flag = z.boolean(about("must be true or false"));

/** The most power bands a charger reading may describe. */
export const POWER_BANDS_MAX = 16;

/** One entry per power band, in W (see power-limits.ts). */
export const powerLimits = z
  .array(integer, about("must be an array of integer watts"))
  .max(POWER_BANDS_MAX, about(`must have at most ${POWER_BANDS_MAX} entries (one per power band)`))
  .describe(
    "power bands in whole W: upper_limit_W and lower_limit_W together, as many entries (1..16); band i is " +
      "[lower[i], upper[i]], lower <= upper, bands do not overlap, [0]/[0] means no power allowed",
  );

/** A zod enum whose refusal names the field and lists the allowed values. */
export function oneOf<T extends z.core.util.EnumLike>(schema: z.ZodEnum<T>) {
  return z.enum(schema.enum, about(`must be one of ${schema.options.join(", ")}`));
}
