import type { CommunityAssetType } from "@energy/contracts";
import { z } from "zod";
import type { RuleViolation } from "./device-rules.ts";

/** A key of a community, member, asset or area: letters, digits, '_', '-', '.'. */
export const KeySchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.-]+$/, "only letters, digits, '_', '-' and '.'");

/** Text kept exactly as given (no trimming: the JSON fields are returned verbatim). */
const text = (max = 500) => z.string().min(1).max(max);
const positive = z.number().positive();

// The community's JSON fields (seed 001): the shape it describes is checked, other keys are kept as given.

/** Named areas keyed by area key, each with its name, the topology node ids it covers and an optional place. */
export const AreasSchema = z.record(
  KeySchema,
  z.looseObject({
    name: text(200),
    topology: z.array(z.string().min(1).max(200)).optional(),
    location: z.unknown().optional(),
    geometry: z.unknown().optional(),
  }),
);

/** The grid topology: a list of nodes. */
export const TopologySchema = z.array(
  z.looseObject({
    id: z.string().min(1).max(200),
    type: text(100),
    name: text(200).optional(),
    operator_id: z.string().min(1).max(200).nullish(),
    children: z.array(z.unknown()).optional(),
  }),
);

export const LegalSchema = z.looseObject({
  name: text(200).optional(),
  vat: text(50).optional(),
  legal_form: text(100).optional(),
});

export const LinksSchema = z.looseObject({
  website: z.url().max(2000).optional(),
  logo: z.url().max(2000).optional(),
  privacy_policy: z.url().max(2000).optional(),
  terms: z.url().max(2000).optional(),
});

export const ContactSchema = z.looseObject({
  email: z.email().max(254).optional(),
  /** Italian certified mail (posta elettronica certificata) */
  pec: z.email().max(254).optional(),
  phone: z
    .string()
    .max(30)
    .regex(/^\+?[0-9 ()-]{3,30}$/, "a phone number")
    .optional(),
});

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const SettingsSchema = z.looseObject({
  timezone: z.string().max(64).refine(isTimeZone, "an IANA time zone").optional(),
  currency: z
    .string()
    .max(3)
    .regex(/^[A-Z]{3}$/, "an ISO 4217 code")
    .optional(),
});

/** Extensible properties; `extra.operators` holds operator definitions. */
export const ExtraSchema = z.record(z.string().max(200), z.unknown());

/** A member's delivery points (points of delivery on the grid). */
export const DeliveryPointsSchema = z.array(
  z.looseObject({
    id: z.string().min(1).max(200),
    type: text(100).optional(),
    description: text(1000).optional(),
    address: text(500).optional(),
    tariff: text(100).optional(),
    active: z.boolean().optional(),
  }),
);

/** A member's extra; `extra.type` is a schema.org CURIE such as `schema:Person`. */
export const MemberExtraSchema = z.looseObject({
  type: z
    .string()
    .max(200)
    .regex(/^[A-Za-z][A-Za-z0-9]*:[A-Za-z0-9_]+$/, "a CURIE such as schema:Person")
    .optional(),
});

/** The SAREF-inspired device specification of an asset. */
export const AssetDeviceSchema = z.strictObject({
  manufacturer: text(200).optional(),
  model: text(200).optional(),
  serialNumber: text(200).optional(),
  firmwareVersion: text(100).optional(),
  type: text(100).optional(),
});

/** Relations to other assets of the same community, by asset key. */
export const AssetRelationshipsSchema = z.strictObject({
  measures: z.array(KeySchema).max(100).optional(),
  pairedWith: z.array(KeySchema).max(100).optional(),
});
export type AssetRelationships = z.infer<typeof AssetRelationshipsSchema>;

/** The properties of each asset type (the seed's names); unknown properties are refused. */
export const ASSET_PROPERTIES = {
  pv: z.strictObject({
    capacity_kwp: positive,
    /** azimuth, degrees from north */
    orientation: z.number().min(0).max(360).optional(),
    /** degrees from horizontal */
    tilt: z.number().min(0).max(90).optional(),
    installation_date: z.iso.date().optional(),
  }),
  storage: z.strictObject({
    capacity_kwh: positive,
    max_power_kw: positive.optional(),
    chemistry: text(100).optional(),
  }),
  meter: z.strictObject({
    meter_type: text(100).optional(),
    /** point of delivery */
    pod: text(100).optional(),
    direction: z.enum(["import", "export", "bidirectional"]).optional(),
  }),
  ev_charger: z.strictObject({
    max_power_kw: positive,
    connector_type: text(100).optional(),
    num_connectors: z.int().min(1).max(100).optional(),
    smart_charging: z.boolean().optional(),
  }),
  heat_pump: z.strictObject({
    thermal_power_kw: positive,
    cop: positive.optional(),
    heat_source: z.enum(["air", "ground", "water", "exhaust_air"]).optional(),
    reversible: z.boolean().optional(),
  }),
  load: z.strictObject({
    rated_power_kw: positive,
    load_type: text(100).optional(),
    controllable: z.boolean().optional(),
    priority: z.int().min(0).max(100).optional(),
  }),
} as const satisfies Record<CommunityAssetType, z.ZodType>;

/** Null when `properties` fit an asset of `assetType`, otherwise the first violation naming the property. */
export function assetPropertiesViolation(
  assetType: CommunityAssetType,
  properties: unknown,
): RuleViolation | null {
  const result = ASSET_PROPERTIES[assetType].safeParse(properties);
  if (result.success) return null;
  const issue = result.error.issues[0];
  if (!issue) return null;
  const unknownKey = issue.code === "unrecognized_keys" ? issue.keys[0] : undefined;
  const path = ["properties", ...issue.path.map(String), ...(unknownKey ? [unknownKey] : [])].join(".");
  const message = unknownKey ? `not a property of a ${assetType} asset` : issue.message;
  return { field: path, code: "invalid_asset_properties", message: `${path}: ${message} (${assetType})` };
}

/**
 * Null when every asset key the relationships name is in `knownKeys` (the community's assets) and none is the
 * asset itself; otherwise the violation naming the first offending key.
 */
export function relationshipViolation(
  assetKey: string,
  relationships: AssetRelationships,
  knownKeys: ReadonlySet<string>,
): RuleViolation | null {
  for (const relation of ["measures", "pairedWith"] as const) {
    for (const key of relationships[relation] ?? []) {
      if (key === assetKey) {
        return {
          field: `relationships.${relation}`,
          code: "invalid_relationship",
          message: `relationships.${relation}: ${key} is the asset itself`,
        };
      }
      if (!knownKeys.has(key)) {
        return {
          field: `relationships.${relation}`,
          code: "unknown_asset",
          message: `relationships.${relation}: no asset ${key} in this community`,
        };
      }
    }
  }
  return null;
}

/** The asset keys that name `assetKey` in their relationships. */
export function assetsReferencing(
  assetKey: string,
  assets: readonly { key: string; relationships: AssetRelationships }[],
): string[] {
  return assets
    .filter(
      (asset) =>
        asset.key !== assetKey &&
        [...(asset.relationships.measures ?? []), ...(asset.relationships.pairedWith ?? [])].includes(
          assetKey,
        ),
    )
    .map((asset) => asset.key);
}

/** Why a community member may not be removed, if not: a member who still owns assets stays (naming them). */
export function memberRemovalViolation(memberKey: string, ownedAssetKeys: readonly string[]): string | null {
  return ownedAssetKeys.length > 0
    ? `member ${memberKey} still owns assets: ${[...ownedAssetKeys].sort().join(", ")}`
    : null;
}
