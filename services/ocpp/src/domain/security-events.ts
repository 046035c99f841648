/**
 * OCPP's Security Events list (OCPP 2.0.1 Part 2, Appendix "Security Events"; the 1.6 security
 * whitepaper has the same list): each type and whether it is critical (a critical event is pushed to the
 * central system at once; the others are only logged on the charger, and may be sent).
 */
export const SECURITY_EVENT_TYPES: Readonly<Record<string, { critical: boolean }>> = {
  FirmwareUpdated: { critical: true },
  FailedToAuthenticateAtCsms: { critical: false },
  CsmsFailedToAuthenticate: { critical: false },
  SettingSystemTime: { critical: true },
  StartupOfTheDevice: { critical: true },
  ResetOrReboot: { critical: true },
  SecurityLogWasCleared: { critical: true },
  ReconfigurationOfSecurityParameters: { critical: false },
  MemoryExhaustion: { critical: true },
  InvalidMessages: { critical: false },
  AttemptedReplayAttacks: { critical: false },
  TamperDetectionActivated: { critical: true },
  InvalidFirmwareSignature: { critical: false },
  InvalidFirmwareSigningCertificate: { critical: false },
  InvalidCsmsCertificate: { critical: false },
  InvalidChargingStationCertificate: { critical: false },
  InvalidTLSVersion: { critical: false },
  InvalidTLSCipherSuite: { critical: false },
  MaintenanceLoginAccepted: { critical: true },
  MaintenanceLoginFailed: { critical: true },
};

/**
 * How a reported security event type is read: known (and whether critical), or unknown — kept as sent and
 * treated as critical, since a type the list does not name may be a vendor's own alarm and should not be
 * missed. 1.6 chargers of the security whitepaper send the same names.
 */
export function classifySecurityEvent(type: string): { known: boolean; critical: boolean } {
  const entry = SECURITY_EVENT_TYPES[type];
  return entry ? { known: true, critical: entry.critical } : { known: false, critical: true };
}
