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
  switch_before_stored_read: {
    status: 409,
    meaning: "A read source switch would start before the end of a stored read (the message names that end)",
    routes: [`PUT ${DEVICE}/read-source`],
  },
  switch_not_after_last_switch: {
    status: 409,
    meaning: "A read source switch must start after the device's last switch",
    routes: [`PUT ${DEVICE}/read-source`],
  },
  source_unchanged: {
    status: 409,
    meaning: "The source asked for is already the device's source at that time",
    routes: [`PUT ${DEVICE}/read-source`],
  },
} as const satisfies RouteErrorCatalog;
