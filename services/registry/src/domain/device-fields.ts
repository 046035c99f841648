import { z } from "zod";
import { SDG_MAX_MASK } from "./sdg.ts";

const text = (max = 200) => z.string().trim().min(1).max(max);

/** An organization's own key of a device, unique in the organization. */
export const ExternalIdSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_-]+$/, "only letters, digits, '-' and '_'");

/** sdgBenefits as a bitmask (bit 0 = SDG 1 … bit 16 = SDG 17). */
export const SdgMaskSchema = z.int().min(0).max(SDG_MAX_MASK);

/**
 * The D-REC registration fields of a device and their rules, shared by POST/PATCH
 * /organizations/:orgId/devices and the bulk CSV import (null = not given). The cross-field rules
 * (energyStorageCapacity when energyStorage, commissioningDate not in the future) are deviceRuleViolations.
 */
export const DrecFieldsSchema = z.object({
  externalId: ExternalIdSchema.nullable(),
  make: text().nullable(),
  address: text(500).nullable(),
  latitude: z.number().min(-90).max(90).nullable(),
  longitude: z.number().min(-180).max(180).nullable(),
  countryCode: z
    .string()
    .max(3)
    .regex(/^[A-Z]{2,3}$/, "ISO 3166-1 alpha-2 or alpha-3, upper case")
    .nullable(),
  postalCode: text(20).nullable(),
  fuelCode: text(50).nullable(),
  deviceTypeCode: text(50).nullable(),
  /** kW */
  capacity: z.number().positive().nullable(),
  commissioningDate: z.iso.date().nullable(),
  gridInterconnection: z.boolean().nullable(),
  energyStorage: z.boolean(),
  /** kWh; required > 0 when energyStorage */
  energyStorageCapacity: z.number().positive().nullable(),
  offTaker: text().nullable(),
  qualityLabels: text(500).nullable(),
  sdgBenefits: SdgMaskSchema,
  impactStory: text(5000).nullable(),
  images: z.array(z.string().trim().min(1).max(2000)).max(50),
});
