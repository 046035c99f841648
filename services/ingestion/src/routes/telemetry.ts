import { createGunzip } from "node:zlib";
import { IdSchema, TelemetryReadingSchema } from "@energy/contracts";
import { AppError, type FastifyPluginAsyncZod, forbidden } from "@energy/service-kit";
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { type Backpressure, messagesOf } from "../ingest/backpressure.ts";
import { checkBatchSize, parseBatchBody } from "../ingest/batch-body.ts";
import type { Ingestor } from "../ingest/ingestor.ts";

export const ReadingErrorView = z.object({ field: z.string(), message: z.string() });
export const BatchOutcomeView = z.object({
  accepted: z.int().describe("readings accepted: on ingestion.telemetry.v1 before this answer"),
  rejected: z.array(z.object({ index: z.int(), reasons: z.array(ReadingErrorView) })),
});

/** An item of a telemetry batch (documentation; each item is checked one by one so one bad item refuses only itself). */
export const TelemetryItemDoc = z.object({
  derId: IdSchema.describe("the DER the reading is about; its device's comm identity must be the caller"),
  // the telemetry models of packages/contracts, as the ingestor checks them (fields, units, signs, bands)
  reading: TelemetryReadingSchema.describe(
    "a telemetry reading: `type` (pv, battery, meter, ev_charger_port, v2x_charger) picks the model; `type` and " +
      "`timestamp` are required, every other field may be null or absent (not read); unknown fields are dropped",
  ),
});

export const StoreBehindView = z.object({
  error: z.object({ code: z.literal("store_behind"), message: z.string() }),
});

/** The answer to a gateway slowed while the telemetry store catches up. */
export function storeBehind(backpressure: Backpressure, retryAfterSeconds: number) {
  const lag = (backpressure.pressureMs() / 1000).toFixed(1);
  return {
    error: {
      code: "store_behind" as const,
      message: `the telemetry store is ${lag} s behind (gateways are slowed from ${backpressure.slowFromMs / 1000} s): send again in ${retryAfterSeconds} s`,
    },
  };
}

/** Only gateways report telemetry; each only for the devices whose comm identity it is. */
export function gatewayOf(request: FastifyRequest): string {
  const { id, type } = request.identity;
  if (type !== "gateway")
    throw forbidden(`only gateway identities send telemetry (this token is a ${type}'s)`);
  return id;
}

export interface TelemetryRouteDeps {
  ingestor: Ingestor;
  backpressure: Backpressure;
  maxBytes: number;
  maxReadings: number;
}

/** POST /v1/telemetry: a batch as a JSON array or NDJSON, gzip accepted. */
export function telemetryRoutes(deps: TelemetryRouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.addContentTypeParser(
      ["application/x-ndjson", "application/ndjson"],
      { parseAs: "string", bodyLimit: deps.maxBytes },
      (_req, body, done) => done(null, body),
    );

    app.post(
      "/v1/telemetry",
      {
        bodyLimit: deps.maxBytes,
        // bad text refuses the item it is in, not the batch (the ingestor checks each item)
        config: { rawBodyText: true },
        schema: {
          summary: "Send a batch of telemetry readings (gateways)",
          description:
            "A JSON array of `{ derId, reading }` items, or NDJSON (one item per line, Content-Type application/x-ndjson); " +
            "`Content-Encoding: gzip` is accepted. Each item is accepted or refused on its own: refused items are stored and " +
            "published on ingestion.telemetry-rejected.v1 with their reasons. The answer comes after the accepted readings are on Kafka.",
          tags: ["telemetry"],
          body: z
            .union([z.array(TelemetryItemDoc).max(deps.maxReadings), z.string().max(deps.maxBytes)])
            .describe("JSON array or NDJSON text"),
          response: {
            200: BatchOutcomeView,
            503: StoreBehindView.describe(
              "the telemetry store is behind: nothing was taken; send the batch again after Retry-After seconds",
            ),
          },
        },
        // refused before the body is read: a slowed gateway costs no parsing
        onRequest: async (_request, reply) => {
          const retryAfter = deps.backpressure.retryAfterSeconds();
          if (retryAfter === null) return;
          return reply
            .code(503)
            .header("retry-after", String(retryAfter))
            .send(storeBehind(deps.backpressure, retryAfter));
        },
        // gzip is undone before the body is parsed (and before the body limit is counted)
        preParsing: async (request, _reply, payload) => {
          const encoding = request.headers["content-encoding"];
          if (!encoding || encoding === "identity") return payload;
          if (encoding !== "gzip") {
            throw new AppError(
              "unsupported_encoding",
              415,
              `Content-Encoding ${encoding} is not supported (use gzip)`,
            );
          }
          delete request.headers["content-length"];
          return payload.pipe(createGunzip());
        },
        // the body's items are checked by the ingestor, item by item
        validatorCompiler: () => () => true,
      },
      async (request) => {
        const gatewayId = gatewayOf(request);
        const items =
          typeof request.body === "string"
            ? parseBatchBody(request.body, deps.maxReadings)
            : checkBatchSize(request.body, deps.maxReadings);
        deps.backpressure.admit(messagesOf(items));
        return deps.ingestor.ingest(items, {
          gatewayId,
          channel: "http",
          receivedAt: new Date(),
          correlationId: request.id,
        });
      },
    );
  };
}
