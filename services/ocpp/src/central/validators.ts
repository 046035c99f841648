import { createRequire } from "node:module";
import { createRPCError, createValidator } from "ocpp-rpc";
import { INT32_MAX, INT32_MIN, paramProblem, withInt32Bounds } from "../domain/param-checks.ts";

const require = createRequire(import.meta.url);

type Validator = ReturnType<typeof createValidator>;

/**
 * The strict-mode validator of one subprotocol: the version's JSON schemas as ocpp-rpc ships them, with
 * every unbounded integer given OCPP's 32-bit bounds, checked with ocpp-rpc's own validator (its error
 * codes, renamed per version in domain/error-codes.ts), and the checks the schemas leave out around it
 * (domain/param-checks.ts):
 *  1. nesting deeper than any OCPP message → FormatViolation (1.6: FormationViolation): not the PDU's form;
 *  2. the schema; a value past the 32-bit bounds added here → TypeConstraintViolation (the field's data
 *     type cannot hold it; ocpp-rpc would say FormatViolation, as for a bound the schema itself sets);
 *  3. text with U+0000 or an unpaired surrogate → PropertyConstraintViolation (a value the field cannot take).
 * Outgoing calls and answers, and the chargers' answers to our calls, go through it too.
 */
function guarded(subprotocol: string, schemaFile: string): Validator {
  const schemas = require(`ocpp-rpc/lib/schemas/${schemaFile}`) as unknown[];
  const bounded = createValidator(subprotocol, withInt32Bounds(schemas));
  const known = new Set(schemas.map((schema) => (schema as { $id: string }).$id));
  const validator = {
    subprotocol,
    validate(schemaId: string, params: unknown) {
      const problem = paramProblem(params);
      if (problem?.kind === "depth") throw createRPCError("FormatViolation", problem.message, {});
      if (!known.has(schemaId)) {
        // an action the version does not have: NotImplemented, before any check of its params (what
        // ocpp-rpc answers for an action without a handler; the central system handles every action
        // with one handler, so ocpp-rpc would otherwise call it a ProtocolError here)
        const action = schemaId.replace(/^urn:/, "").replace(/\.(req|conf)$/, "");
        throw createRPCError("NotImplemented", `Unable to handle '${action}' calls`, {});
      }
      try {
        bounded.validate(schemaId, params);
      } catch (err) {
        const first = (err as { details?: { errors?: SchemaError[] } }).details?.errors?.[0];
        if (first && isInt32Bound(first)) {
          const where = `params${(first.instancePath ?? "").replaceAll("/", ".")}`;
          throw createRPCError("TypeConstraintViolation", `${where} is beyond OCPP's 32-bit integers`, {});
        }
        throw err;
      }
      if (problem) throw createRPCError("PropertyConstraintViolation", problem.message, {});
      return true;
    },
  };
  return validator as unknown as Validator;
}

type SchemaError = { keyword: string; instancePath?: string; params?: { limit?: number } };

/** Whether ajv's error is one of the 32-bit bounds withInt32Bounds added. */
const isInt32Bound = (e: SchemaError) =>
  (e.keyword === "maximum" && e.params?.limit === INT32_MAX) ||
  (e.keyword === "minimum" && e.params?.limit === INT32_MIN);

/** The validators the central system's RPCServer uses in strict mode, per subprotocol. */
export function strictValidators(): Validator[] {
  return [guarded("ocpp1.6", "ocpp1_6.json"), guarded("ocpp2.0.1", "ocpp2_0_1.json")];
}
