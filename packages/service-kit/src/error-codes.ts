import { CERTIFICATE_ERROR_CODES } from "./error-codes/certificate.ts";
import { INGESTION_ERROR_CODES } from "./error-codes/ingestion.ts";
import { METER_READ_ERROR_CODES } from "./error-codes/meter-read.ts";
import { OCPP_ERROR_CODES } from "./error-codes/ocpp.ts";
import { REGISTRY_ERROR_CODES } from "./error-codes/registry.ts";
import { RESERVATION_ERROR_CODES } from "./error-codes/reservation.ts";
import type { ErrorCodeEntry, RouteErrorCatalog, RouteErrorCodeEntry } from "./error-codes/types.ts";

export type { ErrorCodeEntry, RouteErrorCatalog, RouteErrorCodeEntry };

/**
 * The one catalog of error codes (code → HTTP status → meaning) every service answers with, over HTTP
 * (`{ error: { code, message } }` with the status below) and over WebSockets (`{ error: { code, message } }` in
 * a frame): one code for one meaning everywhere.
 *
 * - GENERIC_ERROR_CODES: the codes any route may answer (schema, auth, org guard, limits, faults); the OpenAPI
 *   document lists them on every route by status.
 * - each service's rule codes (error-codes/<service>.ts), each with the routes that answer it; the OpenAPI
 *   document lists them on those routes.
 *
 * `AppError`, `badRequest` and `conflict` take only a code of the catalog, with its status: a code that is
 * not here, or thrown with another status, does not compile. A new rule code goes into its service's file.
 */
export const GENERIC_ERROR_CODES = {
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
  batch_too_large: { status: 400, meaning: "A batch holds more items than the channel takes at once" },
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
} as const satisfies Record<string, ErrorCodeEntry>;

/** Each service's rule codes by the service's name (`createApp({ name })`). */
export const SERVICE_ERROR_CODES = {
  registry: REGISTRY_ERROR_CODES,
  ingestion: INGESTION_ERROR_CODES,
  "meter-read": METER_READ_ERROR_CODES,
  reservation: RESERVATION_ERROR_CODES,
  certificate: CERTIFICATE_ERROR_CODES,
  ocpp: OCPP_ERROR_CODES,
} as const satisfies Record<string, RouteErrorCatalog>;

type Catalog = typeof GENERIC_ERROR_CODES &
  typeof REGISTRY_ERROR_CODES &
  typeof INGESTION_ERROR_CODES &
  typeof METER_READ_ERROR_CODES &
  typeof RESERVATION_ERROR_CODES &
  typeof CERTIFICATE_ERROR_CODES &
  typeof OCPP_ERROR_CODES;

/** Every code of the catalog. */
export type ErrorCode = keyof Catalog;
/** The HTTP status a code is answered with. */
export type ErrorStatus<C extends ErrorCode> = Catalog[C]["status"];
/** The codes answered with status S (what `badRequest` (400) and `conflict` (409) take). */
export type ErrorCodeOfStatus<S extends number> = {
  [C in ErrorCode]: ErrorStatus<C> extends S ? C : never;
}[ErrorCode];

/**
 * The whole catalog, flat: code → { status, meaning }. A code several services use (`invalid_query`) has one
 * status (checked here, at load, and by the type: two statuses make its status `never`).
 */
export const ERROR_CODES: {
  readonly [C in ErrorCode]: ErrorCodeEntry & { readonly status: ErrorStatus<C> };
} = mergeCatalogs();

function mergeCatalogs() {
  const all: Record<string, ErrorCodeEntry> = { ...GENERIC_ERROR_CODES };
  for (const [service, catalog] of Object.entries(SERVICE_ERROR_CODES)) {
    for (const [code, entry] of Object.entries(catalog as RouteErrorCatalog)) {
      const known = all[code];
      if (known && known.status !== entry.status) {
        throw new Error(
          `error code ${code}: ${service} answers it with ${entry.status}, elsewhere ${known.status}`,
        );
      }
      if (code in GENERIC_ERROR_CODES) throw new Error(`error code ${code} of ${service} is a generic code`);
      all[code] ??= { status: entry.status, meaning: entry.meaning };
    }
  }
  return all as typeof ERROR_CODES;
}

/** A service's rule codes that a route answers ("METHOD /path" as the OpenAPI document names it). */
export function routeErrorCodes(service: string, route: string): [ErrorCode, RouteErrorCodeEntry][] {
  const catalog: RouteErrorCatalog | undefined = (SERVICE_ERROR_CODES as Record<string, RouteErrorCatalog>)[
    service
  ];
  if (!catalog) return [];
  return Object.entries(catalog).filter(([, entry]) =>
    entry.routes.includes(route as RouteErrorCodeEntry["routes"][number]),
  ) as [ErrorCode, RouteErrorCodeEntry][];
}

/** The codes that stand for their status alone (a 4xx fastify or a plugin raised without a code). */
const BY_STATUS: readonly (keyof typeof GENERIC_ERROR_CODES)[] = [
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
export function codeOfStatus(status: number): keyof typeof GENERIC_ERROR_CODES | null {
  return BY_STATUS.find((code) => GENERIC_ERROR_CODES[code].status === status) ?? null;
}
