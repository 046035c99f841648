import type { RouteErrorCatalog } from "./types.ts";

const ORG = "/organizations/{orgId}";
const DEVICES = `${ORG}/devices`;
const COMMUNITY = `${ORG}/communities/{key}`;

/** The registry's own rule codes, with the routes that answer each (error-codes.ts merges them). */
export const REGISTRY_ERROR_CODES = {
  invalid_challenge: {
    status: 401,
    meaning: "The login challenge is unknown, expired or already used",
    routes: ["POST /auth/verify"],
  },
  invalid_signature: {
    status: 401,
    meaning: "The signature is not the identity's active key's signature of the challenge",
    routes: ["POST /auth/verify"],
  },
  invalid_refresh_token: {
    status: 401,
    meaning: "The refresh token is unknown, expired, revoked or already used",
    routes: ["POST /auth/refresh"],
  },
  invalid_public_key: {
    status: 400,
    meaning:
      "publicKey is not a key of the identity type's algorithm (Ed25519 raw base64url, ES256 SPKI PEM)",
    routes: [
      "POST /identities",
      "POST /identities/{id}/keys",
      "POST /invitations/accept",
      "POST /auth/challenge",
    ],
  },
  public_key_in_use: {
    status: 409,
    meaning: "publicKey is already registered (one key, one identity)",
    routes: ["POST /identities", "POST /identities/{id}/keys", "POST /invitations/accept"],
  },
  last_active_key: {
    status: 409,
    meaning: "The identity's last active key cannot be revoked (revoke the identity instead)",
    routes: ["DELETE /identities/{id}/keys/{keyId}"],
  },
  already_member: {
    status: 409,
    meaning: "The identity is already a member of the organization",
    routes: [`POST ${ORG}/members`],
  },
  last_owner: {
    status: 409,
    meaning: "The organization's last owner cannot be removed or lose the owner role",
    routes: [
      `PATCH ${ORG}/members/{identityId}`,
      `DELETE ${ORG}/members/{identityId}`,
      `DELETE ${ORG}/invitations/{id}`,
    ],
  },
  invitation_pending: {
    status: 409,
    meaning: "A pending invitation exists for this email",
    routes: [`POST ${ORG}/invitations`],
  },
  mail_failed: {
    status: 502,
    meaning: "The invitation mail could not be sent; nothing was stored",
    routes: [`POST ${ORG}/invitations`],
  },
  invalid_invitation: {
    status: 401,
    meaning: "The invitation is unknown, expired or already used (or the one-time password does not match)",
    routes: ["POST /invitations/accept"],
  },
  site_has_devices: {
    status: 409,
    meaning: "A site with devices cannot be deleted",
    routes: [`DELETE ${ORG}/sites/{siteId}`],
  },
  unknown_site: {
    status: 400,
    meaning: "siteId: no such site in this organization",
    routes: [`POST ${DEVICES}`, `PATCH ${DEVICES}/{deviceId}`, `POST ${ORG}/gateways/{gatewayId}/claim`],
  },
  external_id_in_use: {
    status: 409,
    meaning: "externalId is already used by another device of the organization",
    routes: [`POST ${DEVICES}`, `PATCH ${DEVICES}/{deviceId}`],
  },
  gateway_not_claimed: {
    status: 400,
    meaning: "commIdentityId: the gateway is not claimed by this organization (claim it first)",
    routes: [`POST ${DEVICES}`, `PATCH ${DEVICES}/{deviceId}`],
  },
  energy_storage_capacity_required: {
    status: 400,
    meaning: "energyStorageCapacity: required when energyStorage is true",
    routes: [`POST ${DEVICES}`, `PATCH ${DEVICES}/{deviceId}`],
  },
  commissioning_date_in_future: {
    status: 400,
    meaning: "commissioningDate: may not be after today (UTC)",
    routes: [`POST ${DEVICES}`, `PATCH ${DEVICES}/{deviceId}`],
  },
  der_not_allowed_on_device: {
    status: 400,
    meaning: "derType: a DER of this type cannot be on a device of this type",
    routes: [`POST ${DEVICES}/{deviceId}/ders`],
  },
  claim_proof_required: {
    status: 403,
    meaning: "Claiming a gateway needs its proof: a signed claim challenge or the claim code it shows",
    routes: [`POST ${ORG}/gateways/{gatewayId}/claim`],
  },
  invalid_claim_proof: {
    status: 403,
    meaning: "The claim proof is wrong, used or expired (the message says which part)",
    routes: [`POST ${ORG}/gateways/{gatewayId}/claim`],
  },
  invalid_body: {
    status: 400,
    meaning: "body: the upload is not the CSV file as text/csv",
    routes: [`POST ${ORG}/imports`],
  },
  invalid_csv: {
    status: 400,
    meaning: "The CSV header cannot be read (details.line names the line)",
    routes: [`POST ${ORG}/imports`],
  },
  invalid_header: {
    status: 400,
    meaning: "The CSV header is not the D-REC header (missing, unknown or repeated columns)",
    routes: [`POST ${ORG}/imports`],
  },
  community_key_in_use: {
    status: 409,
    meaning: "key: the organization already has a community with this key",
    routes: [`POST ${ORG}/communities`],
  },
  member_key_in_use: {
    status: 409,
    meaning: "key: the community already has a member with this key",
    routes: [`POST ${COMMUNITY}/members`],
  },
  member_has_assets: {
    status: 409,
    meaning: "A member who owns assets cannot be removed (the message names the assets)",
    routes: [`DELETE ${COMMUNITY}/members/{memberKey}`],
  },
  unknown_identity: {
    status: 400,
    meaning: "identityId: no such identity",
    routes: [`POST ${COMMUNITY}/members`, `PATCH ${COMMUNITY}/members/{memberKey}`],
  },
  unknown_area: {
    status: 400,
    meaning: "area: not one of the community's areas",
    routes: [`POST ${COMMUNITY}/members`, `PATCH ${COMMUNITY}/members/{memberKey}`],
  },
  asset_key_in_use: {
    status: 409,
    meaning: "key: the community already has an asset with this key",
    routes: [`POST ${COMMUNITY}/assets`],
  },
  asset_referenced: {
    status: 409,
    meaning: "Another asset's relationships name this asset; it cannot be deleted",
    routes: [`DELETE ${COMMUNITY}/assets/{assetKey}`],
  },
  unknown_member: {
    status: 400,
    meaning: "ownerMemberKey: no such member in this community",
    routes: [`POST ${COMMUNITY}/assets`, `PATCH ${COMMUNITY}/assets/{assetKey}`],
  },
  invalid_asset_properties: {
    status: 400,
    meaning: "properties: not the properties of the asset's type (the field names the property)",
    routes: [`POST ${COMMUNITY}/assets`, `PATCH ${COMMUNITY}/assets/{assetKey}`],
  },
  invalid_relationship: {
    status: 400,
    meaning: "relationships: an asset cannot measure or be paired with itself",
    routes: [`POST ${COMMUNITY}/assets`, `PATCH ${COMMUNITY}/assets/{assetKey}`],
  },
  unknown_asset: {
    status: 400,
    meaning: "relationships: no such asset in this community",
    routes: [`POST ${COMMUNITY}/assets`, `PATCH ${COMMUNITY}/assets/{assetKey}`],
  },
  devices_reserved: {
    status: 409,
    meaning:
      "A device group change touches devices in a buyer's active reservation or its 12-hour cool-down (details.devices names each, its reservation and when it is free)",
    routes: [
      `POST ${ORG}/device-groups`,
      `DELETE ${ORG}/device-groups/{groupId}`,
      `POST ${ORG}/device-groups/{groupId}/devices`,
      `DELETE ${ORG}/device-groups/{groupId}/devices/{deviceId}`,
    ],
  },
} as const satisfies RouteErrorCatalog;
