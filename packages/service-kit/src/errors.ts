import { z } from "zod";
import type { ErrorCode, ErrorCodeOfStatus, ErrorStatus } from "./error-codes.ts";

/**
 * A failure a client can act on: a stable machine-readable `code` of the catalog (error-codes.ts), its one
 * HTTP `status`, a human message, optional structured `details`. Anything that is not an AppError is a 500.
 * The compiler refuses a code that is not in the catalog, and a status that is not the code's.
 */
export class AppError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name = "AppError";
  constructor(
    readonly code: C,
    readonly status: ErrorStatus<C>,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** `notFound("organization")` → 404 not_found "organization not found". */
export function notFound(what: string): AppError<"not_found"> {
  return new AppError("not_found", 404, `${what} not found`);
}

/** A 400 with one of the catalog's 400 codes. */
export function badRequest<C extends ErrorCodeOfStatus<400>>(
  code: C,
  message: string,
  details?: unknown,
): AppError<C> {
  return new AppError(code, 400 as ErrorStatus<C>, message, details);
}

export function unauthorized(message = "Authentication required"): AppError<"unauthorized"> {
  return new AppError("unauthorized", 401, message);
}

export function forbidden(message = "Not allowed"): AppError<"forbidden"> {
  return new AppError("forbidden", 403, message);
}

/** A 409 with one of the catalog's 409 codes. */
export function conflict<C extends ErrorCodeOfStatus<409>>(code: C, message: string): AppError<C> {
  return new AppError(code, 409 as ErrorStatus<C>, message);
}

/** The body of every error response; use it in route `response` schemas to document errors. */
export const ErrorResponseSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
    fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;
