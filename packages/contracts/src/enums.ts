import { z } from "zod";

// Identities -------------------------------------------------------------

export const IdentityTypeSchema = z.enum(["user", "gateway", "device", "integration", "admin", "root"]);
export type IdentityType = z.infer<typeof IdentityTypeSchema>;

export const KeyAlgorithmSchema = z.enum(["Ed25519", "ES256"]);
export type KeyAlgorithm = z.infer<typeof KeyAlgorithmSchema>;

/** Humans sign with Ed25519, machines with ES256 (P-256). */
export const IDENTITY_KEY_ALGORITHM = {
  user: "Ed25519",
  admin: "Ed25519",
  root: "Ed25519",
  gateway: "ES256",
  device: "ES256",
  integration: "ES256",
} as const satisfies Record<IdentityType, KeyAlgorithm>;

/** Prefixes of the ids the registry hands out (`zap-` is a gateway). */
export const ID_PREFIXES = {
  user: "usr-",
  admin: "adm-",
  gateway: "zap-",
  device: "dev-",
  integration: "int-",
  root: "root-",
  organization: "org-",
  site: "sit-",
  der: "der-",
} as const;

// Organizations -----------------------------------------------------------

export const MemberRoleSchema = z.enum(["owner", "admin", "operator", "viewer"]);
export type MemberRole = z.infer<typeof MemberRoleSchema>;

/** A member's role in an energy community (not an organization's MemberRoleSchema). */
export const CommunityMemberRoleSchema = z.enum(["consumer", "prosumer", "producer", "operator", "admin"]);
export type CommunityMemberRole = z.infer<typeof CommunityMemberRoleSchema>;
export const CommunityMemberStatusSchema = z.enum(["pending", "active", "suspended", "inactive"]);
export type CommunityMemberStatus = z.infer<typeof CommunityMemberStatusSchema>;
/** What an energy community's asset is. */
export const CommunityAssetTypeSchema = z.enum(["pv", "storage", "meter", "ev_charger", "heat_pump", "load"]);
export type CommunityAssetType = z.infer<typeof CommunityAssetTypeSchema>;

export const OrganizationKindSchema = z.enum(["developer", "buyer"]);
export type OrganizationKind = z.infer<typeof OrganizationKindSchema>;

// Devices and DERs --------------------------------------------------------

export const DeviceTypeSchema = z.enum(["inverter", "battery", "ev_charger", "v2x_charger", "energy_meter"]);
export type DeviceType = z.infer<typeof DeviceTypeSchema>;

export const DeviceStateSchema = z.enum(["pending", "active", "stale", "error", "disconnected", "orphaned"]);
export type DeviceState = z.infer<typeof DeviceStateSchema>;

export const DerTypeSchema = z.enum(["solar", "battery", "meter", "ev_charger_port"]);
export type DerType = z.infer<typeof DerTypeSchema>;

/** Which device types may expose a DER of each type (a hybrid inverter has solar, battery and meter). */
export const DER_ALLOWED_DEVICE_TYPES = {
  solar: ["inverter"],
  battery: ["inverter", "battery"],
  meter: ["inverter", "battery", "energy_meter"],
  ev_charger_port: ["ev_charger", "v2x_charger"],
} as const satisfies Record<DerType, readonly DeviceType[]>;

export function isDerAllowedOnDevice(derType: DerType, deviceType: DeviceType): boolean {
  const allowed: readonly DeviceType[] = DER_ALLOWED_DEVICE_TYPES[derType];
  return allowed.includes(deviceType);
}

// Chargers ----------------------------------------------------------------

/** OCPP 2.0.1 connector status, plus preparing/finishing kept from OCPP 1.6. */
export const ConnectorStatusSchema = z.enum([
  "unknown",
  "available",
  "preparing",
  "finishing",
  "reserved",
  "unavailable",
  "faulted",
  "occupied",
]);
export type ConnectorStatus = z.infer<typeof ConnectorStatusSchema>;

/** OCPP 2.0.1 charging state, plus discharging for V2G. */
export const ChargingStateSchema = z.enum([
  "unknown",
  "charging",
  "discharging",
  "suspended_ev",
  "suspended_evse",
  "ev_connected",
  "idle",
]);
export type ChargingState = z.infer<typeof ChargingStateSchema>;

/** V2X charger control mode: bidirectional or charge only. */
export const ControlModeSchema = z.enum(["unknown", "bi_dir", "uni_dir"]);
export type ControlMode = z.infer<typeof ControlModeSchema>;
