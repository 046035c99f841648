import {
  type ErrorCode,
  type FastifyPluginAsyncZod,
  type IsRevoked,
  isAppError,
  mayHoldUnsafeText,
} from "@energy/service-kit";
import websocket from "@fastify/websocket";
import { Histogram } from "prom-client";
import type { WebSocket } from "ws";
import { z } from "zod";
import { messagesOf } from "../ingest/backpressure.ts";
import { checkBatchSize } from "../ingest/batch-body.ts";
import type { Ingestor } from "../ingest/ingestor.ts";
import { gatewayOf, type TelemetryRouteDeps } from "./telemetry.ts";

/** A frame a gateway sends: a batch of `{ derId, reading }` items with its own id. */
const Frame = z.object({ batchId: z.string().min(1).max(200), items: z.array(z.unknown()) });

/** How often the server pings; a gateway that misses two pongs in a row is dropped. */
const PING_INTERVAL_MS = 30_000;

/**
 * GET /v1/telemetry/ws: a WebSocket stream for gateways (Authorization: Bearer on the upgrade).
 * Each text frame `{ batchId, items }` gets one answer `{ batchId, accepted, rejected }` once its
 * accepted readings are on Kafka (answers may come in another order than the frames when several
 * are in flight), or `{ batchId, error: { code, message } }` when the frame cannot be read.
 */
export function telemetryWsRoutes(
  deps: TelemetryRouteDeps & { ingestor: Ingestor; isRevoked?: IsRevoked },
): FastifyPluginAsyncZod {
  return async (app) => {
    await app.register(websocket, { options: { maxPayload: deps.maxBytes } });
    // @fastify/websocket hides its routes from the OpenAPI document; gateway makers need this one in it
    app.addHook("onRoute", (route) => {
      if (route.websocket && route.schema) route.schema.hide = false;
    });
    // what a gateway waits for a frame's answer, as the service sees it (the HTTP route has
    // http_request_duration_seconds): from the frame's arrival to its answer, by outcome
    const frameDuration = new Histogram({
      name: "ingestion_ws_frame_duration_seconds",
      help: "WebSocket telemetry frames, from their arrival to their answer (waits while gateways are slowed included), by outcome: answered, or error",
      labelNames: ["outcome"] as const,
      buckets: [0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [app.metrics],
    });
    const alive = new WeakMap<WebSocket, boolean>();
    const pinger = setInterval(() => {
      for (const client of app.websocketServer.clients) {
        // a socket paused while the store catches up is not read: its pongs wait unread, it is not dead
        if (client.isPaused) continue;
        if (alive.get(client) === false) {
          client.terminate();
          continue;
        }
        alive.set(client, false);
        client.ping();
      }
    }, PING_INTERVAL_MS);
    pinger.unref();
    app.addHook("onClose", async () => clearInterval(pinger));

    app.get(
      "/v1/telemetry/ws",
      {
        websocket: true,
        // refused before the upgrade: a non-gateway gets an HTTP 403, not a socket
        preHandler: async (request) => {
          gatewayOf(request);
        },
        schema: {
          summary: "Stream telemetry batches over a WebSocket (gateways)",
          description:
            "A WebSocket upgrade (`Authorization: Bearer` with a gateway's token; 401/403 over HTTP otherwise). " +
            "Send text frames `{ batchId, items: [{ derId, reading }] }` (items as in POST /v1/telemetry, at most " +
            "BATCH_MAX_READINGS, a frame at most BATCH_MAX_BYTES); each is answered with " +
            "`{ batchId, accepted, rejected: [{ index, reasons: [{ field, message }] }] }` after its accepted readings " +
            "are on Kafka, or `{ batchId, error: { code, message } }` for a frame that cannot be read (invalid_json, " +
            "invalid_frame, binary_frame, batch_too_large; internal: send it again; the codes of service-kit's catalog). Several frames may be in " +
            "flight; answers may come in another order. While the telemetry store is behind, answers wait (the " +
            "gateway is slowed) until it has caught up. The server pings every 30 s.",
          tags: ["telemetry"],
        },
      },
      (socket, request) => {
        const gatewayId = gatewayOf(request);
        alive.set(socket, true);
        socket.on("pong", () => alive.set(socket, true));
        const send = (message: unknown) => {
          if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
        };
        socket.on("message", (data, isBinary) => {
          const receivedAt = new Date();
          const arrived = performance.now();
          const answer = (message: { batchId: string | null; error?: unknown }) => {
            send(message);
            frameDuration.observe(
              { outcome: message.error === undefined ? "answered" : "error" },
              (performance.now() - arrived) / 1000,
            );
          };
          let batchId: string | null = null;
          (async () => {
            // the token was checked at the upgrade: a gateway revoked since then is cut off at its next frame
            if (await deps.isRevoked?.(gatewayId, request.identity.keyId)) {
              socket.close(1008, "identity revoked");
              return;
            }
            if (isBinary) throw new FrameError("binary_frame", "frames must be text (JSON)");
            let parsed: unknown;
            const text = data.toString();
            try {
              parsed = JSON.parse(text);
            } catch (error) {
              throw new FrameError(
                "invalid_json",
                `the frame is not valid JSON: ${(error as Error).message}`,
              );
            }
            const frame = Frame.safeParse(parsed);
            if (typeof (parsed as { batchId?: unknown })?.batchId === "string")
              batchId = (parsed as { batchId: string }).batchId;
            if (!frame.success) {
              const issue = frame.error.issues[0]!;
              throw new FrameError(
                "invalid_frame",
                `${issue.path.join(".") || "frame"}: ${issue.message} (expected { batchId, items })`,
              );
            }
            const items = checkBatchSize(frame.data.items, deps.maxReadings);
            // while the telemetry store catches up the frame waits, and its answer with it; the socket is
            // not read meanwhile, so a gateway that does not wait for its answers is held back by TCP
            const messages = messagesOf(items);
            if (deps.backpressure.retryAfterSeconds() !== null) {
              socket.pause();
              await deps.backpressure.ready(messages);
              socket.resume();
              // a gateway gone meanwhile gets no answer: nothing of its frame is taken (it sends it again)
              if (socket.readyState !== socket.OPEN) return;
            } else deps.backpressure.admit(messages);
            const outcome = await deps.ingestor.ingest(items, {
              gatewayId,
              channel: "ws",
              receivedAt,
              correlationId: request.id,
              textChecked: !mayHoldUnsafeText(text),
            });
            answer({ batchId, ...outcome });
          })().catch((error: unknown) => {
            if (error instanceof FrameError || isAppError(error)) {
              answer({ batchId, error: { code: error.code, message: error.message } });
              return;
            }
            request.log.error({ err: error, batchId }, "telemetry frame failed");
            answer({
              batchId,
              error: {
                code: "internal" satisfies ErrorCode,
                message: "the batch was not taken; send it again",
              },
            });
          });
        });
      },
    );
  };
}

class FrameError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
