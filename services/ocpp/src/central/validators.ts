import { createRequire } from "node:module";
import { createRPCError, createValidator } from "ocpp-rpc";
import { paramProblem, withInt32Bounds } from "../domain/param-checks.ts";

const require = createRequire(import.meta.url);

type Validator = ReturnType<typeof createValidator>;

/**
 * The strict-mode validator of one subprotocol: ocpp-rpc's own (the version's JSON schemas, its error
 * codes), with the checks the schemas leave out (domain/param-checks.ts) before and after it:
 *  1. nesting deeper than any OCPP message → FormatViolation (1.6: FormationViolation): not the PDU's form;
 *  2. the version's schema (ocpp-rpc's codes, renamed per version in domain/error-codes.ts);
 *  3. an integer beyond 32 bits → TypeConstraintViolation (the field's data type cannot hold it);
 *  4. text with U+0000 or an unpaired surrogate → PropertyConstraintViolation (a value the field cannot take).
 * Outgoing calls and answers go through it too (ours are checked as strictly as the charger's).
 */
function guarded(subprotocol: string, schemaFile: string): Validator {
  const schemas = require(`ocpp-rpc/lib/schemas/${schemaFile}`) as unknown[];
  const standard = createValidator(subprotocol, schemas);
  const bounded = createValidator(subprotocol, withInt32Bounds(schemas));
  const validator = {
    subprotocol,
    validate(schemaId: string, params: unknown) {
      const before = paramProblem(params);
      if (before?.kind === "depth") throw createRPCError("FormatViolation", before.message, {});
      standard.validate(schemaId, params);
      try {
        bounded.validate(schemaId, params);
      } catch (err) {
        const errors = (err as { details?: { errors?: Array<{ instancePath?: string }> } }).details?.errors;
        const where = errors?.[0]?.instancePath
          ? `params${errors[0].instancePath.replaceAll("/", ".")}`
          : "params";
        throw createRPCError("TypeConstraintViolation", `${where} is beyond OCPP's 32-bit integers`, {});
      }
      if (before) throw createRPCError("PropertyConstraintViolation", before.message, {});
      return true;
    },
  };
  return validator as unknown as Validator;
}

/** The validators the central system's RPCServer uses in strict mode, per subprotocol. */
export function strictValidators(): Validator[] {
  return [guarded("ocpp1.6", "ocpp1_6.json"), guarded("ocpp2.0.1", "ocpp2_0_1.json")];
}
