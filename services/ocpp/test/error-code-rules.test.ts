import { describe, expect, it } from "vitest";
import { callErrorCode, rewriteOutgoingFrame } from "../src/domain/error-codes.ts";

describe("CALLERROR codes per version", () => {
  it.each([
    ["1.6", "FormatViolation", "FormationViolation"],
    ["1.6", "FormationViolation", "FormationViolation"],
    ["1.6", "OccurrenceConstraintViolation", "OccurenceConstraintViolation"],
    ["1.6", "OccurenceConstraintViolation", "OccurenceConstraintViolation"],
    ["1.6", "RpcFrameworkError", "FormationViolation"],
    ["1.6", "MessageTypeNotSupported", "NotSupported"],
    ["1.6", "TypeConstraintViolation", "TypeConstraintViolation"],
    ["1.6", "SecurityError", "SecurityError"],
    ["1.6", "SomethingElse", "GenericError"],
    ["2.0.1", "FormatViolation", "FormatViolation"],
    ["2.0.1", "FormationViolation", "FormatViolation"],
    ["2.0.1", "OccurrenceConstraintViolation", "OccurenceConstraintViolation"],
    ["2.0.1", "RpcFrameworkError", "RpcFrameworkError"],
    ["2.0.1", "MessageTypeNotSupported", "MessageTypeNotSupported"],
    ["2.0.1", "SomethingElse", "GenericError"],
  ] as const)("%s: %s → %s", (version, code, expected) => {
    expect(callErrorCode(version, code)).toBe(expected);
  });

  it("rewrites only the code of a CALLERROR frame", () => {
    expect(rewriteOutgoingFrame("1.6", '[4,"1","FormatViolation","too long",{}]')).toBe(
      '[4,"1","FormationViolation","too long",{}]',
    );
    expect(rewriteOutgoingFrame("1.6", '[3,"1",{"status":"FormatViolation"}]')).toBe(
      '[3,"1",{"status":"FormatViolation"}]',
    );
    expect(rewriteOutgoingFrame("2.0.1", '[4,"1","FormatViolation","x",{}]')).toBe(
      '[4,"1","FormatViolation","x",{}]',
    );
  });
});
