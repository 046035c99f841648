import type { Tx } from "../db.ts";

/**
 * The history of power limits (charging_limit). A set_power_limit the charger Accepted ends the limit in
 * force on that connector (0: the whole charge point) and starts the new one; a clear_power_limit ends it
 * (without a connector: every limit of the charger). Rows are never changed but for their end.
 */
export async function recordLimit(
  tx: Tx,
  change: {
    chargePointId: string;
    /** undefined: every connector of the charger (a clear without a connector) */
    connectorId: number | undefined;
    /** the new limit in W, or null to clear */
    limitW: number | null;
    commandId: string;
    at: Date;
  },
): Promise<void> {
  const { chargePointId, connectorId, commandId, at } = change;
  await tx.chargingLimit.updateMany({
    where: { chargePointId, ...(connectorId === undefined ? {} : { connectorId }), validTo: null },
    data: { validTo: at, endedByCommandId: commandId },
  });
  if (change.limitW !== null && connectorId !== undefined) {
    await tx.chargingLimit.create({
      data: { chargePointId, connectorId, limitW: change.limitW, validFrom: at, commandId },
    });
  }
}

/** A charging_limit row as a reading needs it. */
export interface LimitRow {
  connectorId: number;
  limitW: number;
  validFrom: Date;
  validTo: Date | null;
}

/**
 * The charging_limit rows of a connector and of connector 0 (the whole charge point) in force at some time
 * of [from, to] (the readings of one call), for limitAt.
 */
export function limitsInForce(
  tx: Tx,
  chargePointId: string,
  connectorId: number,
  from: Date,
  to: Date,
): Promise<LimitRow[]> {
  return tx.chargingLimit.findMany({
    where: {
      chargePointId,
      connectorId: { in: [connectorId, 0] },
      validFrom: { lte: to },
      OR: [{ validTo: null }, { validTo: { gt: from } }],
    },
    select: { connectorId: true, limitW: true, validFrom: true, validTo: true },
  });
}

/**
 * The power limit in force on a connector at a time (a reading's time, so a meter value queued while
 * offline gets the limit of its moment): the lower of the connector's own and the whole charge point's
 * (connector 0) limits in force then; null when none was. Pure: the rows come from limitsInForce or the
 * batched MeterValues' query.
 */
export function limitAt(rows: readonly LimitRow[], connectorId: number, at: Date): number | null {
  const t = at.getTime();
  const inForce = rows.filter(
    (r) =>
      (r.connectorId === connectorId || r.connectorId === 0) &&
      r.validFrom.getTime() <= t &&
      (r.validTo === null || r.validTo.getTime() > t),
  );
  return inForce.length > 0 ? Math.min(...inForce.map((r) => r.limitW)) : null;
}
