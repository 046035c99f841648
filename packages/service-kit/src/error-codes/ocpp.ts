import type { RouteErrorCatalog } from "./types.ts";

/** The OCPP service's own HTTP codes (its chargers get each OCPP version's own error codes). */
export const OCPP_ERROR_CODES = {
  invalid_password: {
    status: 400,
    meaning: "password: 16 to 40 printable ASCII characters",
    routes: ["PUT /v1/orgs/{orgId}/chargers/{chargePointId}/password"],
  },
} as const satisfies RouteErrorCatalog;
