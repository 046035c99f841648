import type { IncomingMessage, ServerResponse } from "node:http";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { authPlugin } from "./auth-plugin.ts";
import type { BaseConfig } from "./config.ts";
import { frameworkErrors, installErrorHandling } from "./error-handler.ts";
import { healthRoutes, type ReadinessChecks } from "./health.ts";
import { type LoggerOverride, loggerOptions, requestId } from "./logger.ts";
import { metricsPlugin } from "./metrics.ts";
import { openApiPlugin } from "./openapi.ts";
import type { IsRevoked } from "./revocation.ts";
import { DEFAULT_JSON_MAX_DEPTH, installInputSafety } from "./safe-input.ts";

/** A service's fastify app: zod schemas type the routes. */
export type App = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

export type CreateAppOptions = {
  /** Service name: OpenAPI title, `service` field of every log line and metric. */
  name: string;
  version?: string;
  description?: string;
  config: BaseConfig;
  /** Dependency checks run by `/readyz`, by name (e.g. `{ database: () => prisma.$queryRaw\`select 1\` }`). */
  readiness?: ReadinessChecks;
  /** Time limit of each readiness check; default 2000 ms. */
  readinessTimeoutMs?: number;
  /** Largest accepted request body in bytes; default 1 MiB. */
  bodyLimit?: number;
  /** Deepest nesting of objects and arrays accepted in a JSON body; default 32. */
  jsonMaxDepth?: number;
  /** Pino options merged over the defaults (redaction paths are added to, never replaced). */
  logger?: LoggerOverride;
  /** Whether a caller's identity is revoked: its unexpired tokens are then refused (see `revocationCache`). */
  isRevoked?: IsRevoked;
};

/**
 * Builds the app without listening: zod validation and serialization, redacted pino logs with request ids,
 * error responses with codes, text checked at the edge (NUL, lone surrogates, JSON depth), bearer-token auth on every non-public route, OpenAPI at `/openapi.json`
 * and `/docs`, `/healthz`, `/readyz`, `/metrics`. Register the service's routes on the result.
 */
export async function createApp(opts: CreateAppOptions): Promise<App> {
  const { config } = opts;
  const app = Fastify({
    logger: loggerOptions(opts.name, config.LOG_LEVEL, opts.logger),
    genReqId: requestId,
    requestIdHeader: false,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    // longer than any id (the route schemas bound each parameter and name it when it is too long)
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors,
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  installInputSafety(app, { maxDepth: opts.jsonMaxDepth ?? DEFAULT_JSON_MAX_DEPTH });
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });

  await app.register(openApiPlugin, {
    title: opts.name,
    version: opts.version ?? "0.0.0",
    description: opts.description,
    service: opts.name,
  });
  await app.register(metricsPlugin, { service: opts.name });
  await app.register(authPlugin, {
    publicKeyPem: config.JWT_PUBLIC_KEY,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    ...(opts.isRevoked ? { isRevoked: opts.isRevoked } : {}),
  });
  await app.register(healthRoutes, {
    readiness: opts.readiness ?? {},
    timeoutMs: opts.readinessTimeoutMs ?? 2000,
  });

  return app.withTypeProvider<ZodTypeProvider>();
}
