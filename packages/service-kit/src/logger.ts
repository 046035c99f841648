import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { DestinationStream, LoggerOptions } from "pino";

/** Pino options a service may override; `stream` sends the logs elsewhere (tests capture them). */
export type LoggerOverride = LoggerOptions & { stream?: DestinationStream };

/** Field names whose values never reach the logs, at any of the first four levels of a logged object. */
const SECRET_FIELDS = [
  "authorization",
  "cookie",
  "password",
  "privateKey",
  "secret",
  "token",
  "accessToken",
  "refreshToken",
  "otp",
];

export const REDACT_PATHS: readonly string[] = [
  "req.headers.authorization",
  "req.headers.cookie",
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`, `*.*.*.${field}`]),
];

/** Pino options for a service: level from config, secrets redacted (override paths are added, not swapped). */
export function loggerOptions(name: string, level: string, override: LoggerOverride = {}): LoggerOverride {
  const extraPaths = Array.isArray(override.redact) ? override.redact : (override.redact?.paths ?? []);
  return {
    level,
    ...override,
    base: { service: name, ...override.base },
    redact: { paths: [...REDACT_PATHS, ...extraPaths], censor: "[redacted]" },
  };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keeps a well-formed incoming `x-request-id` (so a trace spans services), otherwise a new uuid. */
export function requestId(req: IncomingMessage): string {
  const incoming = req.headers["x-request-id"];
  return typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}
