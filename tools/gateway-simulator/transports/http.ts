/**
 * `POST {ingestionUrl}/v1/telemetry` with the gateway's bearer token; the body a JSON array of items or
 * NDJSON, optionally gzip-compressed. The answer: `{ accepted, rejected: [{ index, reasons }] }`.
 */
import { gzipSync } from "node:zlib";
import type { TelemetryItem } from "@energy/simulation";
import {
  type BatchResult,
  bearer,
  type GatewayLink,
  parseAnswer,
  retryAfterMs,
  type Transport,
  TransportError,
} from "./transport.ts";

export interface HttpTransportOptions {
  ingestionUrl: string;
  format?: "json" | "ndjson";
  gzip?: boolean;
  timeoutMs?: number;
}

export class HttpTransport implements Transport {
  readonly name = "http";
  private readonly opts: HttpTransportOptions;
  private readonly url: string;

  constructor(opts: HttpTransportOptions) {
    this.opts = opts;
    this.url = `${opts.ingestionUrl.replace(/\/$/, "")}/v1/telemetry`;
  }

  encode(items: TelemetryItem[]): { body: Buffer; headers: Record<string, string> } {
    const ndjson = this.opts.format === "ndjson";
    const text = ndjson ? `${items.map((item) => JSON.stringify(item)).join("\n")}\n` : JSON.stringify(items);
    const headers: Record<string, string> = {
      "content-type": ndjson ? "application/x-ndjson" : "application/json",
    };
    if (!this.opts.gzip) return { body: Buffer.from(text, "utf8"), headers };
    headers["content-encoding"] = "gzip";
    return { body: gzipSync(text), headers };
  }

  async send(gateway: GatewayLink, items: TelemetryItem[]): Promise<BatchResult> {
    const { body, headers } = this.encode(items);
    let token = await bearer(gateway);
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      let res: Response;
      try {
        res = await fetch(this.url, {
          method: "POST",
          headers: { ...headers, authorization: `Bearer ${token}` },
          body,
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code;
        throw new TransportError(`POST ${this.url}: ${cause ?? (error as Error).message}`, true);
      }
      const text = await res.text();
      const latencyMs = performance.now() - started;
      if (res.status === 401 && attempt === 0) {
        token = await bearer(gateway, true);
        continue;
      }
      if (!res.ok) {
        const retriable = res.status >= 500 || res.status === 429 || res.status === 408;
        const wait =
          res.status === 503 || res.status === 429 ? retryAfterMs(res.headers.get("retry-after")) : undefined;
        throw new TransportError(
          `POST ${this.url} answered ${res.status}: ${text.slice(0, 300)}`,
          retriable,
          wait,
        );
      }
      return { ...parseAnswer(text), latencyMs };
    }
  }

  async close(): Promise<void> {}
}
