/** The fields of a device whose changes are logged (GET …/devices/:deviceId/log). */
export const LOGGED_FIELDS = ["capacity", "commissioningDate"] as const;
export type LoggedField = (typeof LOGGED_FIELDS)[number];

export interface DeviceLogChange {
  field: LoggedField;
  oldValue: string | null;
  newValue: string | null;
}

/** The logged fields of a device, before or after a change. */
export interface LoggedDevice {
  capacity: number | null;
  commissioningDate: Date | null;
}

const logged: Record<LoggedField, (device: LoggedDevice) => string | null> = {
  capacity: (device) => (device.capacity === null ? null : String(device.capacity)),
  commissioningDate: (device) => device.commissioningDate?.toISOString().slice(0, 10) ?? null,
};

/** The log entries of a change from `before` to `after`: one per logged field whose value differs. */
export function deviceLogChanges(before: LoggedDevice, after: LoggedDevice): DeviceLogChange[] {
  const changes: DeviceLogChange[] = [];
  for (const field of LOGGED_FIELDS) {
    const oldValue = logged[field](before);
    const newValue = logged[field](after);
    if (oldValue !== newValue) changes.push({ field, oldValue, newValue });
  }
  return changes;
}
