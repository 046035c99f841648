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

/**
 * The power limit in force on a connector at a time (a reading's time, so a meter value queued while
 * offline gets the limit of its moment): the lower of the connector's own and the whole charge point's
 * (connector 0) limits in force then; null when none was.
 */
export async function limitInForce(
  tx: Tx,
  chargePointId: string,
  connectorId: number,
  at: Date,
): Promise<number | null> {
  const rows = await tx.chargingLimit.findMany({
    where: {
      chargePointId,
      connectorId: { in: [connectorId, 0] },
      validFrom: { lte: at },
      OR: [{ validTo: null }, { validTo: { gt: at } }],
    },
    select: { limitW: true },
  });
  return rows.length > 0 ? Math.min(...rows.map((r) => r.limitW)) : null;
}
