import type { TelemetryReading } from "@energy/contracts";
import type { AcceptedReading } from "../src/store/apply-readings.ts";

/** Where a DER sits, as the projection has it (the scope of its accepted readings). */
export interface DerScope {
  derId: string;
  deviceId: string;
  siteId: string;
  orgId: string;
  gatewayId?: string | null;
}

/**
 * An accepted reading as the telemetry store receives it: `at` is the reading's own time, `receivedAt`
 * when ingestion got it (default: one second later).
 */
export function accepted(
  scope: DerScope,
  at: number | string,
  fields: { type: TelemetryReading["type"] } & Record<string, unknown>,
  receivedAt?: number | string,
): AcceptedReading {
  const timestamp = typeof at === "string" ? Date.parse(at) : at;
  const received =
    receivedAt === undefined
      ? timestamp + 1000
      : typeof receivedAt === "string"
        ? Date.parse(receivedAt)
        : receivedAt;
  return {
    derId: scope.derId,
    deviceId: scope.deviceId,
    siteId: scope.siteId,
    orgId: scope.orgId,
    gatewayId: scope.gatewayId ?? null,
    receivedAt: new Date(received).toISOString(),
    reading: { ...fields, timestamp } as TelemetryReading,
  };
}
