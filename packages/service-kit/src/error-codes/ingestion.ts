import type { RouteErrorCatalog } from "./types.ts";

const TELEMETRY = ["POST /v1/telemetry", "GET /v1/telemetry/ws"] as const;

/** Ingestion's own codes, with the routes (and the WebSocket channel) that answer each. */
export const INGESTION_ERROR_CODES = {
  invalid_batch: {
    status: 400,
    meaning: "The batch is not a JSON array (or NDJSON) of at least one item",
    routes: TELEMETRY,
  },
  unsupported_encoding: {
    status: 415,
    meaning: "Content-Encoding other than gzip (or identity)",
    routes: ["POST /v1/telemetry"],
  },
  store_behind: {
    status: 503,
    meaning: "The telemetry store is behind: the gateway is slowed; send again after Retry-After",
    routes: ["POST /v1/telemetry"],
  },
  invalid_query: {
    status: 400,
    meaning: "A query parameter is not valid (details.field names it: a window too long, to before from, …)",
    routes: [
      "GET /organizations/{orgId}/ders/{derId}/intervals",
      "GET /organizations/{orgId}/devices/offline",
      "GET /organizations/{orgId}/sites/{siteId}/energy",
    ],
  },
} as const satisfies RouteErrorCatalog;
