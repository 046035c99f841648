import { z } from "zod";
import {
  CommunityAssetTypeSchema,
  CommunityMemberRoleSchema,
  CommunityMemberStatusSchema,
  DerTypeSchema,
  DeviceStateSchema,
  DeviceTypeSchema,
  IDENTITY_KEY_ALGORITHM,
  IdentityTypeSchema,
  KeyAlgorithmSchema,
  MemberRoleSchema,
  OrganizationKindSchema,
} from "../enums.ts";
import { IdSchema, INT32_MAX } from "../primitives.ts";
import { defineTopic } from "../topic.ts";

// Snapshots: `*.created` / `*.updated` carry the whole entity, so a projection just upserts it.

const PublicKeySchema = z.object({
  keyId: IdSchema,
  algorithm: KeyAlgorithmSchema,
  /** SPKI PEM or base64url of the raw public key. */
  publicKey: z.string().min(1),
});

export const IdentityRegisteredSchema = PublicKeySchema.extend({
  identityId: IdSchema,
  identityType: IdentityTypeSchema,
  name: z.string().nullable(),
}).refine((identity) => IDENTITY_KEY_ALGORITHM[identity.identityType] === identity.algorithm, {
  path: ["algorithm"],
  message: "algorithm must be Ed25519 for user/admin/root and ES256 for gateway/device/integration",
});

export const OrganizationSchema = z.object({
  orgId: IdSchema,
  name: z.string().min(1),
  kind: OrganizationKindSchema,
  ownerIdentityId: IdSchema,
});
export type Organization = z.infer<typeof OrganizationSchema>;

export const SiteSchema = z.object({
  siteId: IdSchema,
  orgId: IdSchema,
  name: z.string().min(1),
  address: z.string().nullable(),
  /** IANA zone, e.g. Europe/Stockholm. */
  timezone: z.string().min(1),
});
export type Site = z.infer<typeof SiteSchema>;

export const DeviceSchema = z.object({
  deviceId: IdSchema,
  orgId: IdSchema,
  siteId: IdSchema,
  type: DeviceTypeSchema,
  state: DeviceStateSchema,
  name: z.string().min(1),
  /** The identity (usually a gateway) that talks to the device. */
  commIdentityId: IdSchema.nullable(),
  /** The owner's own id for the device (D-REC externalId). */
  externalId: z.string().nullable(),
  make: z.string().nullable(),
  model: z.string().nullable(),
  /** Certification data used by meter-read and reservation. */
  capacityW: z.int().min(0).nullable(),
  commissioningDate: z.iso.date().nullable(),
  countryCode: z.string().nullable(),
  fuelCode: z.string().nullable(),
  /** Expected yearly yield in kWh per kW of capacity (D-REC yieldValue); null: the reader's default. */
  yieldValue: z.number().min(0).nullable().optional(),
  /**
   * D-REC grouping and document fields (reservation groups devices by deviceTypeCode and offTaker). Optional:
   * events written before they were carried have none (a reader takes absent as null).
   */
  deviceTypeCode: z.string().nullable().optional(),
  offTaker: z.string().nullable().optional(),
  gridInterconnection: z.boolean().nullable().optional(),
  address: z.string().nullable().optional(),
  latitude: z.number().nullable().optional(),
  longitude: z.number().nullable().optional(),
  /** When the device was registered (its onboarding date). */
  createdAt: z.iso.datetime().optional(),
});
export type Device = z.infer<typeof DeviceSchema>;

export const DerSchema = z.object({
  derId: IdSchema,
  deviceId: IdSchema,
  siteId: IdSchema,
  orgId: IdSchema,
  derType: DerTypeSchema,
  name: z.string().min(1),
  ratedPowerW: z.int().min(0).max(INT32_MAX).nullable(),
});
export type Der = z.infer<typeof DerSchema>;

export const DeviceGroupSchema = z.object({
  groupId: IdSchema,
  orgId: IdSchema,
  name: z.string().min(1),
  deviceIds: z.array(IdSchema),
  /** Free metadata, e.g. SDG benefits, impact story. */
  metadata: z.record(z.string(), z.string()),
});
export type DeviceGroup = z.infer<typeof DeviceGroupSchema>;

/**
 * A device's lifecycle state changed in the registry (pending → active → …, or orphaned). Not ingestion's
 * liveness change, which has the same event type on ingestion.liveness.v1 (DeviceLivenessChangedSchema).
 */
export const DeviceStateChangedSchema = z.object({
  deviceId: IdSchema,
  orgId: IdSchema,
  from: DeviceStateSchema,
  to: DeviceStateSchema,
  reason: z.string().nullable(),
});
export type DeviceStateChanged = z.infer<typeof DeviceStateChangedSchema>;

export const CommunitySchema = z.object({
  communityId: IdSchema,
  key: z.string().min(1),
  name: z.string().min(1),
  description: z.string().nullable(),
  orgId: IdSchema.nullable(),
});
export type Community = z.infer<typeof CommunitySchema>;

export const CommunityMemberSchema = z.object({
  communityId: IdSchema,
  memberKey: z.string().min(1),
  identityId: IdSchema.nullable(),
  name: z.string().min(1),
  role: CommunityMemberRoleSchema,
  status: CommunityMemberStatusSchema,
});
export type CommunityMember = z.infer<typeof CommunityMemberSchema>;

export const CommunityAssetSchema = z.object({
  communityId: IdSchema,
  assetKey: z.string().min(1),
  ownerMemberKey: z.string().min(1),
  assetType: CommunityAssetTypeSchema,
  name: z.string().min(1),
  /** Set when the asset is a registered device. */
  deviceId: IdSchema.nullable(),
});
export type CommunityAsset = z.infer<typeof CommunityAssetSchema>;

const reason = z.string().nullable();

export const registryTopics = {
  registryIdentity: defineTopic({
    name: "registry.identity.v1",
    owner: "registry",
    key: "identity id",
    keyOf: (p) => p.identityId,
    events: {
      "identity.registered": IdentityRegisteredSchema,
      "identity.key_added": PublicKeySchema.extend({ identityId: IdSchema }),
      "identity.key_revoked": z.object({ identityId: IdSchema, keyId: IdSchema, reason }),
      "identity.revoked": z.object({ identityId: IdSchema, reason }),
    },
  }),
  registryOrganization: defineTopic({
    name: "registry.organization.v1",
    owner: "registry",
    key: "organization id",
    keyOf: (p) => p.orgId,
    events: {
      "organization.created": OrganizationSchema,
      "organization.updated": OrganizationSchema,
      "organization.deleted": z.object({ orgId: IdSchema }),
    },
  }),
  registryMembership: defineTopic({
    name: "registry.membership.v1",
    owner: "registry",
    key: "organization id",
    keyOf: (p) => p.orgId,
    events: {
      "membership.added": z.object({ orgId: IdSchema, identityId: IdSchema, role: MemberRoleSchema }),
      "membership.role_changed": z.object({
        orgId: IdSchema,
        identityId: IdSchema,
        from: MemberRoleSchema,
        to: MemberRoleSchema,
      }),
      "membership.removed": z.object({ orgId: IdSchema, identityId: IdSchema }),
    },
  }),
  registrySite: defineTopic({
    name: "registry.site.v1",
    owner: "registry",
    key: "site id",
    keyOf: (p) => p.siteId,
    events: {
      "site.created": SiteSchema,
      "site.updated": SiteSchema,
      "site.deleted": z.object({ siteId: IdSchema, orgId: IdSchema }),
    },
  }),
  registryDevice: defineTopic({
    name: "registry.device.v1",
    owner: "registry",
    key: "device id",
    keyOf: (p) => p.deviceId,
    events: {
      "device.registered": DeviceSchema,
      "device.updated": DeviceSchema,
      "device.state_changed": DeviceStateChangedSchema,
      "device.deleted": z.object({ deviceId: IdSchema, orgId: IdSchema }),
    },
  }),
  registryDer: defineTopic({
    name: "registry.der.v1",
    owner: "registry",
    key: "DER id",
    keyOf: (p) => p.derId,
    events: {
      "der.created": DerSchema,
      "der.updated": DerSchema,
      "der.deleted": z.object({
        derId: IdSchema,
        deviceId: IdSchema,
        orgId: IdSchema,
        derType: DerTypeSchema,
      }),
    },
  }),
  registryGateway: defineTopic({
    name: "registry.gateway.v1",
    owner: "registry",
    key: "gateway id",
    keyOf: (p) => p.gatewayId,
    events: {
      /** A claim by a new organization orphans the devices of the previous one. */
      "gateway.claimed": z.object({
        gatewayId: IdSchema,
        orgId: IdSchema,
        siteId: IdSchema.nullable(),
        previousOrgId: IdSchema.nullable(),
      }),
    },
  }),
  registryDeviceGroup: defineTopic({
    name: "registry.device-group.v1",
    owner: "registry",
    key: "device group id",
    keyOf: (p) => p.groupId,
    events: {
      "device-group.created": DeviceGroupSchema,
      "device-group.updated": DeviceGroupSchema,
      "device-group.deleted": z.object({ groupId: IdSchema, orgId: IdSchema }),
    },
  }),
  registryCommunity: defineTopic({
    name: "registry.community.v1",
    owner: "registry",
    key: "community id",
    keyOf: (p) => p.communityId,
    events: {
      "community.created": CommunitySchema,
      "community.updated": CommunitySchema,
      "community.deleted": z.object({ communityId: IdSchema }),
      "member.added": CommunityMemberSchema,
      "member.updated": CommunityMemberSchema,
      "member.removed": z.object({ communityId: IdSchema, memberKey: z.string().min(1) }),
      "asset.added": CommunityAssetSchema,
      "asset.updated": CommunityAssetSchema,
      "asset.removed": z.object({ communityId: IdSchema, assetKey: z.string().min(1) }),
    },
  }),
};
