import type { RouteErrorCatalog } from "./types.ts";

const CLAIMS = "POST /organizations/{orgId}/certificates/{certificateId}/claims";

/** The certificate service's own codes, with the routes that answer each. */
export const CERTIFICATE_ERROR_CODES = {
  certificate_not_confirmed: {
    status: 409,
    meaning: "Only a certificate confirmed on chain can be claimed",
    routes: [CLAIMS],
  },
  not_custodial: {
    status: 409,
    meaning: "The owner has not approved this service as its operator: claim on chain with the owner's key",
    routes: [CLAIMS],
  },
  amount_exceeds_balance: {
    status: 400,
    meaning: "amountWh: more than the certificate's balance not yet claimed",
    routes: [CLAIMS],
  },
} as const satisfies RouteErrorCatalog;
