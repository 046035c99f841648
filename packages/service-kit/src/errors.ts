import { z } from "zod";

/**
 * A failure a client can act on: a stable machine-readable `code`, one HTTP `status`,
 * a human message, optional structured `details`. Anything that is not an AppError is a 500.
 */
export class AppError extends Error {
  override readonly name = "AppError";
  constructor(
    readonly code: string,
    readonly status: number,
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
export function notFound(what: string): AppError {
  return new AppError("not_found", 404, `${what} not found`);
}

export function badRequest(code: string, message: string, details?: unknown): AppError {
  return new AppError(code, 400, message, details);
}

export function unauthorized(message = "Authentication required"): AppError {
  return new AppError("unauthorized", 401, message);
}

export function forbidden(message = "Not allowed"): AppError {
  return new AppError("forbidden", 403, message);
}

export function conflict(code: string, message: string): AppError {
  return new AppError(code, 409, message);
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
