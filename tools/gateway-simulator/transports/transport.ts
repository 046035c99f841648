/** What every transport does: send one gateway's batch of items and say what ingestion made of it. */
import type { KeyObject } from "node:crypto";
import type { TelemetryItem } from "@energy/simulation";

/** The gateway a batch is sent as. */
export interface GatewayLink {
  gatewayId: string;
  /** The gateway's access token (HTTP, WebSocket). */
  token?: () => Promise<string>;
  /** A new access token after the server refused the current one. */
  renewToken?: () => Promise<string>;
  /** The gateway's registered P-256 key (the Kafka bridge signs the batch body with it). */
  privateKey?: KeyObject;
}

/** One refused item of a batch, as ingestion answers it. */
export interface Rejection {
  index: number;
  reasons: { field: string; message: string }[];
}

export interface BatchResult {
  accepted: number;
  rejected: Rejection[];
  /** From sending to the acknowledgement, ms. */
  latencyMs: number;
}

/**
 * A batch that was not acknowledged; retriable ones (network, 5xx, broker) may be sent again. With
 * `retryAfterMs` ingestion asked the gateway to slow down (503/429 with Retry-After: its telemetry store is
 * behind): the batch is sent again after that long, as often as it takes.
 */
export class TransportError extends Error {
  readonly retriable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, retriable: boolean, retryAfterMs?: number) {
    super(message);
    this.retriable = retriable;
    this.retryAfterMs = retryAfterMs;
  }
}

/** A Retry-After header (seconds, or an HTTP date) in ms; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface Transport {
  readonly name: string;
  send(gateway: GatewayLink, items: TelemetryItem[]): Promise<BatchResult>;
  close(): Promise<void>;
}

/** A gateway's token, or an error that names what is missing. */
export async function bearer(gateway: GatewayLink, renew = false): Promise<string> {
  const get = renew ? (gateway.renewToken ?? gateway.token) : gateway.token;
  if (!get) throw new TransportError(`gateway ${gateway.gatewayId} has no access token`, false);
  try {
    return await get();
  } catch (error) {
    throw new TransportError(`token for ${gateway.gatewayId}: ${(error as Error).message}`, true);
  }
}

/** An ingestion answer `{ accepted, rejected }`, checked enough to count on it. */
export function parseAnswer(text: string): { accepted: number; rejected: Rejection[] } {
  const answer = JSON.parse(text) as { accepted?: unknown; rejected?: unknown };
  if (typeof answer.accepted !== "number" || !Array.isArray(answer.rejected)) {
    throw new TransportError(`unexpected answer from ingestion: ${text.slice(0, 200)}`, false);
  }
  return { accepted: answer.accepted, rejected: answer.rejected as Rejection[] };
}
