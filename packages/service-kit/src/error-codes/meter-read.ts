import type { RouteErrorCatalog } from "./types.ts";

const DEVICE = "/organizations/{orgId}/devices/{deviceId}";

/** Meter-read's own codes, with the routes that answer each. */
export const METER_READ_ERROR_CODES = {
  invalid_query: {
    status: 400,
    meaning:
      "A query parameter is not valid (details.field names it: to not after from, an unknown time zone)",
    routes: [
      `GET ${DEVICE}/reads`,
      `GET ${DEVICE}/energy`,
      `GET ${DEVICE}/energy/sum`,
      `GET ${DEVICE}/reads/export`,
    ],
  },
  read_type_switch_refused: {
    status: 409,
    meaning: "The device reports reads of the other type (delta or aggregate); switching is not allowed",
    routes: ["POST /organizations/{orgId}/reads"],
  },
} as const satisfies RouteErrorCatalog;
