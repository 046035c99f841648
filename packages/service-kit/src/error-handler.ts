import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { isResponseSerializationError } from "fastify-type-provider-zod";
import { z } from "zod";
import { codeOfStatus, ERROR_CODES } from "./error-codes.ts";
import { type ErrorResponse, isAppError } from "./errors.ts";
import { UnsafeInputError } from "./safe-input.ts";

type Field = { path: string; message: string };

/** Fastify's own request errors that a client caused, by fastify error code. */
const FASTIFY_CLIENT_ERRORS: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: "payload_too_large" },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: "invalid_json" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: "invalid_json" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: "unsupported_media_type" },
};

/** `body` + `/email` → `body.email`; a missing required property (ajv) is named too. */
export function validationFields(error: Pick<FastifyError, "validation" | "validationContext">): Field[] {
  const context = error.validationContext ?? "request";
  return (error.validation ?? []).map((issue) => {
    const segments = issue.instancePath.split("/").filter(Boolean);
    const missing = issue.params?.["missingProperty"];
    if (typeof missing === "string") segments.push(missing);
    return { path: [context, ...segments].join("."), message: issue.message ?? "Invalid value" };
  });
}

/** A ZodError thrown by handler code (a manual `Schema.parse`): paths relative to what was parsed. */
function zodFields(error: z.ZodError): Field[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join(".") : "value",
    message: issue.message,
  }));
}

function validationFailed(reply: FastifyReply, fields: Field[]): FastifyReply {
  const message = fields.map((f) => `${f.path}: ${f.message}`).join("; ");
  return send(reply, 400, { code: "validation_failed", message, fields });
}

/** A fault of the service: the catalog's `internal`, with nothing of the fault in the answer. */
function internal(reply: FastifyReply): FastifyReply {
  return send(reply, ERROR_CODES.internal.status, { code: "internal", message: "Internal error" });
}

function send(reply: FastifyReply, status: number, error: ErrorResponse["error"]): FastifyReply {
  if (status === 401) reply.header("www-authenticate", "Bearer");
  return reply.status(status).send({ error });
}

/**
 * Requests the router refuses before any route runs (a path that is not valid percent-encoded UTF-8, a path
 * parameter over the router's limit): the same coded 400 as every other refusal, not fastify's own shape.
 */
export function frameworkErrors(error: FastifyError, _request: unknown, reply: FastifyReply): void {
  const code = error.code === "FST_ERR_MAX_PARAM_LENGTH" ? "path_too_long" : "bad_url";
  const message =
    code === "bad_url"
      ? "The path is not valid percent-encoded UTF-8"
      : "A path segment is longer than any id the platform uses";
  void send(reply, 400, { code, message });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (typeof error !== "object" || error === null) {
      request.log.error({ thrown: String(error) }, "non-error thrown");
      return internal(reply);
    }
    if (error.validation) return validationFailed(reply, validationFields(error));
    if (error instanceof UnsafeInputError) return validationFailed(reply, error.fields);
    if (error instanceof z.ZodError) return validationFailed(reply, zodFields(error));
    if (isAppError(error)) {
      const body = { code: error.code, message: error.message };
      return send(
        reply,
        error.status,
        error.details === undefined ? body : { ...body, details: error.details },
      );
    }
    const known = FASTIFY_CLIENT_ERRORS[error.code];
    if (known) {
      const limit = request.routeOptions.bodyLimit;
      const message =
        error.code === "FST_ERR_CTP_BODY_TOO_LARGE" && limit
          ? `Request body is too large: this endpoint accepts at most ${limit} bytes`
          : error.message;
      return send(reply, known.status, { code: known.code, message });
    }

    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return send(reply, status, { code: codeOfStatus(status) ?? "bad_request", message: error.message });
    }

    if (isResponseSerializationError(error)) {
      request.log.error({ err: error, issues: error.cause.issues }, "response does not match its schema");
    } else {
      request.log.error({ err: error }, "unhandled error");
    }
    return internal(reply);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0];
    return send(reply, 404, { code: "not_found", message: `Route ${request.method} ${path} not found` });
  });
}
