import { type EventPayload, type ReadingError, type TelemetryReading, topics } from "@energy/contracts";
import {
  createEnvelope,
  type EventProducer,
  enqueueEvents,
  event,
  type PreparedMessage,
} from "@energy/kafka";
import { inspectInput } from "@energy/service-kit";
import type { Db } from "../db.ts";
import { DER_TYPE_OF_READING } from "../domain/intervals.ts";
import { checkReading, type TimestampWindow } from "../domain/reading-checks.ts";
import type { DerScope, DerScopes } from "./der-scopes.ts";
import { rawExcerpt } from "./raw-excerpt.ts";

export type Channel = "http" | "ws" | "kafka";

/** Who sent a batch and how. gatewayId is null for trusted internal sources (the ocpp service). */
export interface BatchSource {
  gatewayId: string | null;
  channel: Channel;
  receivedAt: Date;
  correlationId?: string;
  /**
   * The items were parsed from a JSON text that cannot hold a NUL or a lone surrogate (decoded from UTF-8,
   * no `\u` escape: service-kit's mayHoldUnsafeText), so their strings are not checked one by one again.
   */
  textChecked?: boolean;
}

export interface RejectedItem {
  /** Position of the item in the batch (0-based). */
  index: number;
  reasons: ReadingError[];
}

export interface BatchOutcome {
  accepted: number;
  rejected: RejectedItem[];
}

interface Candidate {
  index: number;
  derId: string;
  reading: TelemetryReading;
}

interface Refusal {
  index: number;
  derId: string | null;
  deviceId: string | null;
  reasons: ReadingError[];
  raw: unknown;
}

export interface IngestorOptions {
  db: Db;
  /** the registry projection's DERs, kept in memory while the database's changes are heard (DerScopes) */
  scopes: DerScopes;
  producer: EventProducer;
  /** The times a reading's timestamp may fall within. */
  timestamps: TimestampWindow;
  /** Wakes the outbox relay (rejections are published through the outbox). */
  published: () => void;
}

/**
 * Decides what is valid in a batch of telemetry items (`{ derId, reading }`), publishes the accepted
 * readings on ingestion.telemetry.v1 (one message per DER of the batch) and stores + publishes the refused ones with their reasons. It
 * resolves only when both are done, so whoever acknowledges the batch to a gateway does so after the
 * accepted readings are on Kafka (acks from all in-sync replicas) and the refusals are stored.
 */
export class Ingestor {
  constructor(private readonly opts: IngestorOptions) {}

  async ingest(items: readonly unknown[], source: BatchSource): Promise<BatchOutcome> {
    const refusals: Refusal[] = [];
    const candidates: Candidate[] = [];
    const receivedAtMs = source.receivedAt.getTime();

    const checkText = !source.textChecked;
    items.forEach((item, index) => {
      const unsafe = unsafeInput(item, checkText);
      if (unsafe) {
        refusals.push({ index, derId: null, deviceId: null, reasons: [unsafe], raw: item });
        return;
      }
      const shape = itemShape(item);
      if ("reasons" in shape) {
        refusals.push({ index, derId: shape.derId, deviceId: null, reasons: shape.reasons, raw: item });
        return;
      }
      const check = checkReading(shape.reading, receivedAtMs, this.opts.timestamps);
      if (!check.ok) {
        refusals.push({ index, derId: shape.derId, deviceId: null, reasons: check.reasons, raw: item });
        return;
      }
      candidates.push({ index, derId: shape.derId, reading: check.reading });
    });

    const scopes = await this.opts.scopes.lookup(candidates.map((c) => c.derId));
    // One message per DER of the batch, its readings in the order they came.
    const byDer = new Map<string, { scope: DerScope; readings: TelemetryReading[] }>();
    let acceptedCount = 0;
    for (const candidate of candidates) {
      const scope = scopes.get(candidate.derId);
      const reason = refusalReason(candidate, scope, source.gatewayId);
      if (reason || !scope) {
        refusals.push({
          index: candidate.index,
          derId: candidate.derId,
          deviceId: scope?.deviceId ?? null,
          reasons: [reason ?? { field: "derId", message: "unknown DER" }],
          raw: items[candidate.index],
        });
        continue;
      }
      const group = byDer.get(scope.derId);
      if (group) group.readings.push(candidate.reading);
      else byDer.set(scope.derId, { scope, readings: [candidate.reading] });
      acceptedCount++;
    }
    const receivedAt = source.receivedAt.toISOString();
    // Built here rather than through prepareEvent: every reading was just validated, and a second contract
    // check of each would cost as much as the rest of the path.
    const accepted: PreparedMessage[] = [...byDer.values()].map(({ scope, readings }) => ({
      topic: topics.ingestionTelemetry.name,
      key: scope.derId,
      envelope: createEnvelope({
        type: "readings.accepted",
        source: "ingestion",
        ...(source.correlationId ? { correlationId: source.correlationId } : {}),
      }),
      payload: {
        derId: scope.derId,
        deviceId: scope.deviceId,
        siteId: scope.siteId,
        orgId: scope.orgId,
        gatewayId: source.gatewayId,
        receivedAt,
        readings,
      } satisfies EventPayload<typeof topics.ingestionTelemetry, "readings.accepted">,
    }));

    // coalesced: the batches acknowledged meanwhile go to Kafka in one produce request
    await Promise.all([this.opts.producer.sendCoalesced(accepted), this.storeRefusals(refusals, source)]);
    return {
      accepted: acceptedCount,
      rejected: refusals.map(({ index, reasons }) => ({ index, reasons })).sort((a, b) => a.index - b.index),
    };
  }

  /** Refuses a whole batch that could not be opened (bad signature, unreadable body): stored and published. */
  async refuseBatch(source: BatchSource, reasons: ReadingError[], raw: unknown): Promise<void> {
    await this.storeRefusals([{ index: 0, derId: null, deviceId: null, reasons, raw }], source);
  }

  /** Refusals are stored and put in the outbox in one transaction: none is lost, each is published once. */
  private async storeRefusals(refusals: Refusal[], source: BatchSource): Promise<void> {
    if (refusals.length === 0) return;
    const receivedAt = source.receivedAt.toISOString();
    const excerpts = refusals.map((r) => rawExcerpt(r.raw));
    await this.opts.db.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(
        `INSERT INTO rejected_reading (received_at, channel, gateway_id, device_id, der_id, reasons, raw)
         SELECT $1::timestamptz, $2, $3, r.device_id, r.der_id, r.reasons, r.raw
           FROM unnest($4::text[], $5::text[], $6::jsonb[], $7::jsonb[]) AS r(device_id, der_id, reasons, raw)`,
        receivedAt,
        source.channel,
        source.gatewayId,
        refusals.map((r) => r.deviceId),
        refusals.map((r) => r.derId),
        refusals.map((r) => JSON.stringify(r.reasons)),
        excerpts.map((raw) => JSON.stringify(raw)),
      );
      const envelope = source.correlationId ? { correlationId: source.correlationId } : undefined;
      await enqueueEvents(
        tx,
        refusals.map((refusal, i) =>
          event(
            topics.ingestionTelemetryRejected,
            "reading.rejected",
            {
              gatewayId: source.gatewayId,
              deviceId: refusal.deviceId,
              derId: refusal.derId,
              receivedAt,
              reasons: refusal.reasons,
              raw: excerpts[i],
            },
            envelope,
          ),
        ),
      );
    });
    this.opts.published();
  }
}

/**
 * A string with a NUL or a lone surrogate (not storable, not Unicode), or nesting too deep, anywhere in the item:
 * the edge rule of service-kit, applied item by item so that one bad item refuses only itself. `text` false:
 * the depth only (the batch's text was checked whole).
 */
function unsafeInput(item: unknown, text: boolean): ReadingError | null {
  const problem = inspectInput(item, { root: "item", text });
  if (!problem) return null;
  const field = problem.path === "item" ? "item" : problem.path.slice("item.".length);
  return { field, message: `${field} ${problem.message}` };
}

/** `{ derId, reading }` or the reasons it is not. */
function itemShape(
  item: unknown,
): { derId: string; reading: unknown } | { derId: string | null; reasons: ReadingError[] } {
  if (typeof item !== "object" || item === null || Array.isArray(item)) {
    return {
      derId: null,
      reasons: [{ field: "item", message: "each item must be an object { derId, reading }" }],
    };
  }
  const { derId, reading } = item as { derId?: unknown; reading?: unknown };
  const reasons: ReadingError[] = [];
  const derIdProblem = derIdReason(derId);
  if (derIdProblem) reasons.push({ field: "derId", message: derIdProblem });
  if (typeof reading !== "object" || reading === null || Array.isArray(reading)) {
    reasons.push({
      field: "reading",
      message: reading === undefined ? "reading is required" : "reading must be an object with a type field",
    });
  }
  const id = derIdProblem === null ? (derId as string) : null;
  return reasons.length > 0 || id === null ? { derId: id, reasons } : { derId: id, reading };
}

/** The longest DER id looked up (registry ids are far shorter). */
const DER_ID_MAX_LENGTH = 200;

/** Why derId cannot be a DER's id, if it cannot: it is looked up in the database as text. */
function derIdReason(derId: unknown): string | null {
  if (derId === undefined) return "derId is required";
  if (typeof derId !== "string" || derId.length === 0) return "derId must be a non-empty string";
  if (derId.length > DER_ID_MAX_LENGTH) return `derId must be at most ${DER_ID_MAX_LENGTH} characters long`;
  if (derId.includes("\u0000")) return "derId must not contain a NUL character (\\u0000)";
  if (/\p{Cs}/u.test(derId))
    return "derId must not contain a lone surrogate (\\ud800-\\udfff without its pair)";
  return null;
}

/** Why a valid reading may not be taken from this source for this DER, if it may not. */
function refusalReason(
  candidate: Candidate,
  scope: DerScope | undefined,
  gatewayId: string | null,
): ReadingError | null {
  if (!scope) {
    return {
      field: "derId",
      message: `derId ${candidate.derId} is not a registered DER (or the registry's event has not reached ingestion yet)`,
    };
  }
  if (gatewayId !== null && scope.commIdentityId !== gatewayId) {
    return {
      field: "derId",
      message: `derId ${scope.derId}: gateway ${gatewayId} does not serve device ${scope.deviceId} of DER ${scope.derId} (its comm identity is ${scope.commIdentityId ?? "not set"})`,
    };
  }
  if (scope.deviceState === "orphaned") {
    return {
      field: "derId",
      message: `derId ${scope.derId}: device ${scope.deviceId} is orphaned (its gateway was claimed by another organization)`,
    };
  }
  const derType = DER_TYPE_OF_READING[candidate.reading.type];
  if (derType !== scope.derType) {
    return {
      field: "reading.type",
      message: `reading.type ${candidate.reading.type} does not fit DER ${scope.derId}, which is of type ${scope.derType}`,
    };
  }
  return null;
}
