/**
 * One WebSocket per gateway to `{ingestionUrl}/v1/telemetry/ws`, opened with the gateway's bearer token.
 * Each batch is a text frame `{ batchId, items }`; ingestion answers `{ batchId, accepted, rejected }` once
 * the accepted readings are on Kafka. Several batches may be in flight on one socket (the runner's window);
 * the latency is from sending the frame to its answer. A closed socket fails its pending batches as
 * retriable and is opened again on the next send. While ingestion's telemetry store is behind, answers come
 * later (the window then slows the gateway down by itself); one not answered within the ack timeout is sent
 * again.
 */

import type { TelemetryItem } from "@energy/simulation";
import { WebSocket } from "ws";
import { type BatchResult, bearer, type GatewayLink, type Transport, TransportError } from "./transport.ts";

export interface WsTransportOptions {
  ingestionUrl: string;
  /** How long to wait for a batch's answer. */
  ackTimeoutMs?: number;
}

interface Pending {
  resolve: (result: BatchResult) => void;
  reject: (error: Error) => void;
  sentAt: number;
  timer: NodeJS.Timeout;
}

class GatewaySocket {
  private socket: WebSocket | null = null;
  private opening: Promise<WebSocket> | null = null;
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private readonly prefix = `${Date.now().toString(36)}-`;
  private readonly url: string;
  private readonly gateway: GatewayLink;
  private readonly ackTimeoutMs: number;

  constructor(url: string, gateway: GatewayLink, ackTimeoutMs: number) {
    this.url = url;
    this.gateway = gateway;
    this.ackTimeoutMs = ackTimeoutMs;
  }

  private open(renew: boolean): Promise<WebSocket> {
    this.opening ??= (async () => {
      const token = await bearer(this.gateway, renew);
      return await new Promise<WebSocket>((resolve, reject) => {
        const socket = new WebSocket(this.url, { headers: { authorization: `Bearer ${token}` } });
        socket.once("unexpected-response", (_req, res) => {
          const status = res.statusCode ?? 0;
          let text = "";
          res.on("data", (chunk: Buffer) => {
            text += chunk.toString("utf8");
          });
          res.on("end", () => {
            const error = new TransportError(
              `${this.url} refused the upgrade with ${status}: ${text.slice(0, 300)}`,
              status === 401 || status >= 500 || status === 429,
            ) as TransportError & { status?: number };
            error.status = status;
            reject(error);
            socket.terminate();
          });
        });
        socket.once("open", () => resolve(socket));
        // After a failed start the promise is settled already; later errors are followed by "close".
        socket.on("error", (error) => reject(new TransportError(`${this.url}: ${error.message}`, true)));
        socket.on("message", (data) => this.answer(data.toString()));
        socket.on("close", (code, reason) => {
          if (this.socket === socket) this.socket = null;
          this.failAll(new TransportError(`socket closed (${code} ${reason.toString()})`, true));
        });
      });
    })().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private async connected(): Promise<WebSocket> {
    if (this.socket?.readyState === WebSocket.OPEN) return this.socket;
    try {
      this.socket = await this.open(false);
    } catch (error) {
      if ((error as { status?: number }).status !== 401) throw error;
      this.socket = await this.open(true); // the token expired or was revoked: log in again, once
    }
    return this.socket;
  }

  private answer(text: string): void {
    let message: {
      batchId?: unknown;
      accepted?: unknown;
      rejected?: unknown;
      error?: { code?: string; message?: string };
    };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const pending = typeof message.batchId === "string" ? this.pending.get(message.batchId) : undefined;
    if (!pending) return;
    this.pending.delete(message.batchId as string);
    clearTimeout(pending.timer);
    if (typeof message.accepted === "number" && Array.isArray(message.rejected)) {
      pending.resolve({
        accepted: message.accepted,
        rejected: message.rejected as BatchResult["rejected"],
        latencyMs: performance.now() - pending.sentAt,
      });
    } else {
      const reason = message.error
        ? `${message.error.code ?? "error"}: ${message.error.message ?? ""}`
        : text.slice(0, 300);
      // internal: ingestion did not take the batch and asks for it again (service-kit's error catalog)
      const retriable = message.error?.code === "internal";
      pending.reject(new TransportError(`batch ${message.batchId} refused: ${reason}`, retriable));
    }
  }

  private failAll(error: Error): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(error);
    }
  }

  async send(items: TelemetryItem[]): Promise<BatchResult> {
    const socket = await this.connected();
    const batchId = `${this.gateway.gatewayId}-${this.prefix}${this.seq++}`;
    return new Promise<BatchResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(batchId);
        // ingestion holds answers while its store catches up: a batch not answered in time is sent again
        // (a reading stored twice is stored once)
        reject(new TransportError(`no answer to batch ${batchId} within ${this.ackTimeoutMs} ms`, true));
      }, this.ackTimeoutMs);
      this.pending.set(batchId, { resolve, reject, sentAt: performance.now(), timer });
      socket.send(JSON.stringify({ batchId, items }), (error) => {
        if (!error) return;
        clearTimeout(timer);
        this.pending.delete(batchId);
        reject(new TransportError(`sending batch ${batchId}: ${error.message}`, true));
      });
    });
  }

  close(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (!socket || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2_000);
      socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.close(1000, "simulator stopping");
    });
  }
}

export class WsTransport implements Transport {
  readonly name = "ws";
  private readonly opts: WsTransportOptions;
  private readonly url: string;
  private readonly sockets = new Map<string, GatewaySocket>();

  constructor(opts: WsTransportOptions) {
    this.opts = opts;
    this.url = `${opts.ingestionUrl.replace(/\/$/, "").replace(/^http/, "ws")}/v1/telemetry/ws`;
  }

  send(gateway: GatewayLink, items: TelemetryItem[]): Promise<BatchResult> {
    let socket = this.sockets.get(gateway.gatewayId);
    if (!socket) {
      socket = new GatewaySocket(this.url, gateway, this.opts.ackTimeoutMs ?? 30_000);
      this.sockets.set(gateway.gatewayId, socket);
    }
    return socket.send(items);
  }

  async close(): Promise<void> {
    await Promise.all([...this.sockets.values()].map((socket) => socket.close()));
    this.sockets.clear();
  }
}
