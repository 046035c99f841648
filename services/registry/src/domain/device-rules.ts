import {
  DER_ALLOWED_DEVICE_TYPES,
  type DerType,
  type DeviceType,
  isDerAllowedOnDevice,
} from "@energy/contracts";
import type { ErrorCodeOfStatus } from "@energy/service-kit";

/** A broken rule on one field: the route answers it as a 400 naming the field (a code of the catalog). */
export interface RuleViolation {
  field: string;
  code: ErrorCodeOfStatus<400>;
  message: string;
}

/** The fields of a device (as stored after a create or a patch) that the cross-field rules look at. */
export interface DeviceRuleInput {
  energyStorage: boolean;
  /** kWh */
  energyStorageCapacity: number | null;
  /** ISO date, YYYY-MM-DD */
  commissioningDate: string | null;
}

/** The rules zod cannot express on one field: storage capacity with storage, no commissioning in the future. */
export function deviceRuleViolations(device: DeviceRuleInput, today: string): RuleViolation[] {
  const violations: RuleViolation[] = [];
  if (device.energyStorage && !(device.energyStorageCapacity !== null && device.energyStorageCapacity > 0)) {
    violations.push({
      field: "energyStorageCapacity",
      code: "energy_storage_capacity_required",
      message: "energyStorageCapacity: required and greater than 0 when energyStorage is true",
    });
  }
  if (device.commissioningDate !== null && device.commissioningDate > today) {
    violations.push({
      field: "commissioningDate",
      code: "commissioning_date_in_future",
      message: `commissioningDate: ${device.commissioningDate} is in the future (today is ${today})`,
    });
  }
  return violations;
}

/** Today's date in UTC as YYYY-MM-DD. */
export function utcToday(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** Null when a DER of `derType` may sit on a device of `deviceType`, otherwise the violation naming both. */
export function derOnDeviceViolation(derType: DerType, deviceType: DeviceType): RuleViolation | null {
  if (isDerAllowedOnDevice(derType, deviceType)) return null;
  const allowed = DER_ALLOWED_DEVICE_TYPES[derType].join(", ");
  return {
    field: "derType",
    code: "der_not_allowed_on_device",
    message: `derType: a ${derType} DER is not allowed on a ${deviceType} device (allowed on: ${allowed})`,
  };
}
