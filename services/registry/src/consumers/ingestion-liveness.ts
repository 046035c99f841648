import { DeviceStateSchema, type LivenessState, topics } from "@energy/contracts";
import { ConsumerRunner, type ConsumerRunnerOptions, enqueueEvent, type EventProducer, FatalMessageError, type HandlerContext, type Logger } from "@energy/kafka";
import type { Db } from "../db.ts";
import type { Prisma } from "../generated/prisma/client.ts";

export const LIVENESS_GROUP_ID = "registry.ingestion-liveness";
const SOURCE_TOPIC = "ingestion.liveness.v1";
const TOPIC = "registry.device.v1";
const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** The payload of ingestion's `device.state_changed` (validated by the runner against the contract). */
export interface LivenessReport {
  deviceId: string;
  orgId: string;
  from: string;
  to: LivenessState;
  lastSeenAt: string | null;
}

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
  ctx: Pick<HandlerContext, "tx" | "envelope">,
  logger: Logger = silentLogger,
): Promise<"changed" | "unchanged" | "orphaned"> {
  if (!ctx.tx) throw new Error("the liveness consumer needs a database transaction");
  const tx = ctx.tx as unknown as Prisma.TransactionClient;
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
  if (from === "orphaned") {
    logger.info(
      { deviceId: report.deviceId, to: report.to },
      "liveness report for an orphaned device: not revived",
    );
    return "orphaned";
  }
  if (from === report.to) return "unchanged";
  await tx.device.update({ where: { id: report.deviceId }, data: { state: report.to } });
  await enqueueEvent(tx, topics.registryDevice, "device.state_changed", {
      deviceId: report.deviceId,
      orgId: report.orgId,
      from,
      to: report.to,
      reason: `liveness reported by ingestion (last seen ${report.lastSeenAt ?? "never"})`,
    }, { correlationId: ctx.envelope.correlationId, causationId: ctx.envelope.id });
  return "changed";
}

export interface LivenessConsumerOptions {
  kafka: ConsumerRunnerOptions["kafka"];
  /** the service's producer: the runner sends dead letters through it */
  producer: EventProducer;
  db: Db;
  topicPrefix?: string;
  logger?: Logger;
  /** default "registry.ingestion-liveness"; tests sharing a broker pass their own */
  groupId?: string;
  /** passed to the runner (tests use short retries) */
  retry?: { initialMs?: number; maxMs?: number; maxAttempts?: number };
}

/** The consumer of ingestion.liveness.v1 (group "registry.ingestion-liveness"); call start() on it. */
export function livenessConsumer(opts: LivenessConsumerOptions): ConsumerRunner {
  const logger = opts.logger ?? silentLogger;
  return new ConsumerRunner({
    kafka: opts.kafka,
    producer: opts.producer,
    db: opts.db,
    groupId: opts.groupId ?? LIVENESS_GROUP_ID,
    topicPrefix: opts.topicPrefix,
    logger,
    ...(opts.retry ? { retry: opts.retry } : {}),
    subscriptions: [
      {
        topic: SOURCE_TOPIC,
        handlers: {
          "device.state_changed": async (report: LivenessReport, ctx) => {
            await applyLivenessReport(report, ctx, logger);
          },
        },
      },
    ],
  });
}
