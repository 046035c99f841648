import type { OcppVersion } from "@energy/contracts";

/**
 * The CALLERROR codes each version's specification names (OCPP-J 1.6 §4.2.3 table 7; OCPP 2.0.1 part 4
 * §4.3). The two differ in spelling, and ocpp-rpc mixes them: its schema validator says FormatViolation
 * and OccurenceConstraintViolation for both versions, its 1.6 fix-up turns the latter into
 * OccurrenceConstraintViolation (the 1.6 errata §5.1/§5.2 say both misspellings stay in 1.6), and frame
 * errors use the 2.0.1-only RpcFrameworkError / MessageTypeNotSupported.
 */
export const CALL_ERROR_CODES = {
  "1.6": [
    "NotImplemented",
    "NotSupported",
    "InternalError",
    "ProtocolError",
    "SecurityError",
    "FormationViolation",
    "PropertyConstraintViolation",
    "OccurenceConstraintViolation",
    "TypeConstraintViolation",
    "GenericError",
  ],
  "2.0.1": [
    "FormatViolation",
    "GenericError",
    "InternalError",
    "MessageTypeNotSupported",
    "NotImplemented",
    "NotSupported",
    "OccurenceConstraintViolation",
    "PropertyConstraintViolation",
    "ProtocolError",
    "RpcFrameworkError",
    "SecurityError",
    "TypeConstraintViolation",
  ],
} as const satisfies Record<OcppVersion, readonly string[]>;

/** A code in another version's (or a library's) spelling → the code this version names. */
const RENAMES: Record<OcppVersion, Record<string, string>> = {
  "1.6": {
    FormatViolation: "FormationViolation",
    OccurrenceConstraintViolation: "OccurenceConstraintViolation",
    // 1.6 has no frame-level codes: a frame that is not a well-formed call is a formation violation.
    RpcFrameworkError: "FormationViolation",
    MessageTypeNotSupported: "NotSupported",
  },
  "2.0.1": {
    FormationViolation: "FormatViolation",
    OccurrenceConstraintViolation: "OccurenceConstraintViolation",
  },
};

/** The CALLERROR code to send a charger of `version` for `code`; anything the version does not name is GenericError. */
export function callErrorCode(version: OcppVersion, code: string): string {
  const renamed = RENAMES[version][code] ?? code;
  return (CALL_ERROR_CODES[version] as readonly string[]).includes(renamed) ? renamed : "GenericError";
}

/**
 * Rewrites the error code of an outgoing CALLERROR frame (`[4, id, code, description, details]`) for the
 * charger's version; any other frame is returned as it is.
 */
export function rewriteOutgoingFrame(version: OcppVersion, frame: string): string {
  if (!frame.startsWith("[4")) return frame;
  let message: unknown;
  try {
    message = JSON.parse(frame);
  } catch {
    return frame;
  }
  if (!Array.isArray(message) || message[0] !== 4 || typeof message[2] !== "string") return frame;
  const code = callErrorCode(version, message[2]);
  if (code === message[2]) return frame;
  message[2] = code;
  return JSON.stringify(message);
}
