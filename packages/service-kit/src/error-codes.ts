/**
 * The error codes every service answers with, over HTTP (`{ error: { code, message } }` with the status
 * below) and over WebSockets (`{ error: { code, message } }` in a frame): one code for one meaning
 * everywhere. A route's own rule codes (`last_owner`, `invalid_csv`, …) are named in its OpenAPI
 * description; these are the ones any route may answer (the OpenAPI document lists them per route).
 */
export const ERROR_CODES = {
  validation_failed: {
    status: 400,
    meaning: "The request does not match its schema; `fields` names each problem (path and message)",
  },
  invalid_json: { status: 400, meaning: "The body (or frame) is not valid JSON" },
  bad_url: { status: 400, meaning: "The path is not valid percent-encoded UTF-8" },
  path_too_long: { status: 400, meaning: "A path segment is longer than any id the platform uses" },
  bad_request: { status: 400, meaning: "The request cannot be read as sent" },
  invalid_frame: { status: 400, meaning: "A WebSocket frame is JSON but not the shape the channel expects" },
  binary_frame: { status: 400, meaning: "A WebSocket frame is binary; the channel takes JSON text frames" },
  unauthorized: { status: 401, meaning: "No valid bearer token (missing, expired, revoked or not ours)" },
  forbidden: { status: 403, meaning: "The caller's role in the organization does not allow this" },
  not_found: {
    status: 404,
    meaning: "No such resource in the caller's organizations (another organization's data is not found)",
  },
  method_not_allowed: { status: 405, meaning: "The route does not take this method" },
  not_acceptable: { status: 406, meaning: "The route cannot answer in an accepted media type" },
  request_timeout: { status: 408, meaning: "The request took too long to arrive" },
  conflict: { status: 409, meaning: "The change conflicts with the current state" },
  payload_too_large: {
    status: 413,
    meaning: "The body is larger than the route accepts (the message names the limit)",
  },
  batch_too_large: { status: 413, meaning: "A batch holds more items than the channel takes at once" },
  unsupported_media_type: { status: 415, meaning: "The body's content type is not one the route reads" },
  too_many_requests: { status: 429, meaning: "Too many requests; wait as long as Retry-After says" },
  internal: {
    status: 500,
    meaning: "A fault of the service, not of the request: nothing was taken; send it again (it is logged)",
  },
  unavailable: {
    status: 503,
    meaning: "The service cannot take the request now (a dependency is behind); retry after Retry-After",
  },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes that stand for their status alone (a 4xx fastify or a plugin raised without a code). */
const BY_STATUS: readonly ErrorCode[] = [
  "unauthorized",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "not_acceptable",
  "request_timeout",
  "conflict",
  "payload_too_large",
  "unsupported_media_type",
  "too_many_requests",
];

/** The catalog code of an HTTP status raised without one (null: none stands for it alone). */
export function codeOfStatus(status: number): ErrorCode | null {
  return BY_STATUS.find((code) => ERROR_CODES[code].status === status) ?? null;
}
