import { Ajv, type ValidateFunction } from "ajv";
import { z } from "zod";
import { isStorableText } from "./fields.ts";
import { powerLimitIssues } from "./power-limits.ts";

/** What compileReadingModels needs of a telemetry model: a zod object whose `type` is a literal. */
type Model = z.ZodObject<{ type: z.ZodLiteral<string> } & z.ZodRawShape>;

/** A model compiled: its structural check, its fields in the model's order, what the check leaves to us. */
interface CompiledModel {
  check: ValidateFunction;
  keys: string[];
  textFields: string[];
  powerLimits: boolean;
}

/**
 * The telemetry models compiled to plain JavaScript checks, for the acceptance of valid readings, the
 * ingestion path's hottest step: `accept` returns what the zod model would return for a reading it accepts
 * (the model's fields, in its order, unknown fields dropped), or undefined for anything else, which the
 * caller then gives to zod for its reasons. It never accepts what zod refuses: test/compiled.test.ts holds
 * the two to the same verdict and output over generated readings.
 *
 * Each model's JSON Schema (z.toJSONSchema, the one the OpenAPI documents publish) is compiled by Ajv: types,
 * integer and number bounds, lengths, enums, nullish fields. The two rules JSON Schema cannot state are
 * checked here as the models check them: text without NUL or lone surrogates, and the power bands.
 */
export function compileReadingModels(models: readonly Model[]): (input: unknown) => object | undefined {
  // Ajv counts a string's length in code points (a surrogate pair is one), as zod's .max does; strictNumbers
  // refuses NaN and ±Infinity, as z.number does
  const ajv = new Ajv({ strict: false, strictNumbers: true, validateSchema: false });
  const byType = new Map<string, CompiledModel>();
  for (const model of models) {
    const schema = z.toJSONSchema(model, { io: "input", unrepresentable: "any" }) as JsonObject;
    delete schema.$schema;
    const properties = schema.properties as Record<string, JsonObject>;
    byType.set(model.shape.type.value, {
      check: ajv.compile(schema),
      keys: Object.keys(model.shape),
      textFields: Object.keys(properties).filter((name) => isFreeText(properties[name]!)),
      powerLimits: "upper_limit_W" in properties,
    });
  }
  return (input) => {
    if (typeof input !== "object" || input === null) return undefined;
    const fields = input as Record<string, unknown>;
    const type = fields.type;
    const model = typeof type === "string" ? byType.get(type) : undefined;
    if (!model?.check(input)) return undefined;
    for (const name of model.textFields) {
      const value = fields[name];
      if (typeof value === "string" && !isStorableText(value)) return undefined;
    }
    if (model.powerLimits && powerLimitIssues(fields).length > 0) return undefined;
    const out: Record<string, unknown> = {};
    for (const key of model.keys) {
      if (!Object.hasOwn(fields, key)) continue;
      const value = fields[key];
      // zod returns arrays it parsed as new arrays: the caller's stay the caller's
      out[key] = Array.isArray(value) ? [...value] : value;
    }
    return out;
  };
}

type JsonObject = Record<string, unknown>;

/** A field of free text (a string that is not one of an enum's values), nullish or not. */
function isFreeText(schema: JsonObject): boolean {
  const branches = (schema.anyOf as JsonObject[] | undefined) ?? [schema];
  return branches.some((b) => b.type === "string" && b.enum === undefined && b.const === undefined);
}
