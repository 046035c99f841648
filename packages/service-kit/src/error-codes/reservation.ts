import type { RouteErrorCatalog } from "./types.ts";

const RESERVATIONS = "/organizations/{orgId}/reservations";
const ONE = `${RESERVATIONS}/{reservationId}`;
const CREATE = `POST ${RESERVATIONS}`;
const PATCH = `PATCH ${ONE}`;
const CANDIDATES = "POST /organizations/{orgId}/reservation-candidates";

/** The reservation service's own codes, with the routes that answer each. */
export const RESERVATION_ERROR_CODES = {
  start_too_far_in_past: {
    status: 400,
    meaning: "reservationStartDate: more than 12 months in the past",
    routes: [CREATE, CANDIDATES],
  },
  end_before_start: {
    status: 400,
    meaning: "reservationEndDate: not after the start",
    routes: [CREATE, CANDIDATES],
  },
  end_in_past: {
    status: 400,
    meaning: "reservationEndDate: already past (a reservation must end in the future)",
    routes: [CREATE, CANDIDATES],
  },
  invalid_address: {
    status: 400,
    meaning: "blockchainAddress: not 0x followed by 40 hex digits",
    routes: [CREATE],
  },
  invalid_address_checksum: {
    status: 400,
    meaning: "blockchainAddress: a mixed-case address that fails its EIP-55 checksum",
    routes: [CREATE],
  },
  unknown_devices: {
    status: 400,
    meaning: "deviceIds: devices the service does not know (details names them)",
    routes: [CREATE, PATCH],
  },
  devices_unavailable: {
    status: 409,
    meaning: "Some devices are reserved by another buyer or cooling down (details names them and until when)",
    routes: [CREATE, PATCH],
  },
  no_devices_available: {
    status: 409,
    meaning: "None of the devices can be reserved",
    routes: [CREATE],
  },
  target_below_device_capacity: {
    status: 409,
    meaning:
      "The target volume is less than the devices' total capacity over the period (the continue flag goes on)",
    routes: [CREATE],
  },
  frequency_immutable: {
    status: 400,
    meaning: "The frequency is fixed for the life of a reservation",
    routes: [PATCH],
  },
  nothing_to_change: {
    status: 400,
    meaning: "The change names no devices to add or remove",
    routes: [PATCH],
  },
  device_not_in_reservation: {
    status: 400,
    meaning: "removeDeviceIds: devices not in this reservation",
    routes: [PATCH],
  },
  last_device: {
    status: 409,
    meaning: "A reservation keeps at least one device (DELETE ends it)",
    routes: [PATCH],
  },
  reservation_gone: {
    status: 409,
    meaning: "The reservation is gone",
    routes: [PATCH, `DELETE ${ONE}`, `POST ${ONE}/release`],
  },
  reservation_ended: {
    status: 409,
    meaning: "The reservation has ended; its devices cannot change",
    routes: [PATCH],
  },
  reservation_active: {
    status: 409,
    meaning: "The reservation has not reached its end (DELETE ends it early)",
    routes: [`POST ${ONE}/release`],
  },
} as const satisfies RouteErrorCatalog;
