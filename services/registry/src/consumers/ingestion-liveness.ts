import { type DeviceLivenessChanged, DeviceStateSchema, topics } from "@energy/contracts";
import { enqueueEvent, FatalMessageError, type HandlerContext, type Logger } from "@energy/kafka";
import { defineSubscription, type Tx } from "../context.ts";
import { deviceTransition } from "../domain/device-states.ts";

const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** The payload of ingestion's `device.state_changed` (validated by the runner against the contract). */
export type LivenessReport = DeviceLivenessChanged;

/**
 * Applies ingestion's liveness report to the device's state, in the runner's transaction (which also
 * records the envelope id, so a redelivered report changes nothing), and records the registry's own
 * `device.state_changed` on registry.device.v1 through the outbox in the same transaction.
 *
 * Decisions:
 * - A report for a device the registry does not know (never registered, or deleted since) — or one whose
 *   orgId is not the device's — is a FatalMessageError: it goes to ingestion.liveness.v1.dlq with the
 *   reason, where it can be looked at, rather than being dropped silently. Retrying cannot help.
 * - A device in state `orphaned` is not revived by liveness: readings from it do not bring it back, only
 *   an explicit change of state (PATCH) does. The report is consumed and logged, nothing changes.
 * - The registry's current state is the `from` of its own event (ingestion's `from` is its view, which
 *   may lag); a report that does not change the state records nothing.
 */
export async function applyLivenessReport(
  report: LivenessReport,
  ctx: Pick<HandlerContext<Tx>, "tx" | "envelope">,
  logger: Logger = silentLogger,
): Promise<"changed" | "unchanged" | "orphaned"> {
  const { tx } = ctx;
  // Lock the row so a concurrent PATCH of the state is ordered with this change (and so is its event).
  const [row] = await tx.$queryRaw<Array<{ state: string; org_id: string }>>`
    SELECT state, org_id FROM device WHERE id = ${report.deviceId} FOR UPDATE`;
  if (!row) throw new FatalMessageError(`device ${report.deviceId} is not in the registry`);
  if (row.org_id !== report.orgId) {
    throw new FatalMessageError(
      `device ${report.deviceId} belongs to organization ${row.org_id}, not ${report.orgId}`,
    );
  }
  const from = DeviceStateSchema.parse(row.state);
  const transition = deviceTransition(from, report.to, "liveness");
  if (transition.outcome === "refused") {
    logger.info(
      { deviceId: report.deviceId, from, to: report.to },
      `liveness report not applied: ${transition.reason}`,
    );
    return "orphaned";
  }
  if (transition.outcome === "unchanged") return "unchanged";
  await tx.device.update({ where: { id: report.deviceId }, data: { state: report.to } });
  await enqueueEvent(
    tx,
    topics.registryDevice,
    "device.state_changed",
    {
      deviceId: report.deviceId,
      orgId: report.orgId,
      from,
      to: report.to,
      reason: `liveness reported by ingestion (last seen ${report.lastSeenAt ?? "never"})`,
    },
    { correlationId: ctx.envelope.correlationId, causationId: ctx.envelope.id },
  );
  return "changed";
}

/** Ingestion's liveness reports (group "registry.ingestion-liveness"). */
export const ingestionLiveness = defineSubscription(topics.ingestionLiveness, {
  "device.state_changed": (report, ctx) => applyLivenessReport(report, ctx, ctx.service.log),
});
