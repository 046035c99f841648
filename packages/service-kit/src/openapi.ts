import swagger, { type SwaggerTransform } from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyPluginAsync } from "fastify";
import { jsonSchemaTransform } from "fastify-type-provider-zod";
import { z } from "zod";
import { ERROR_CODES, type ErrorCode } from "./error-codes.ts";
import { ErrorResponseSchema } from "./errors.ts";
import { globalPlugin } from "./global-plugin.ts";

export type OpenApiOptions = { title: string; version: string; description?: string };

/** The error body's JSON schema (the same for every error answer). */
const { $schema: _, ...errorBody } = z.toJSONSchema(ErrorResponseSchema) as Record<string, unknown>;

/** The catalog's codes of one status, as a response description: "`not_found`: No such resource …". */
function describeStatus(status: number): string {
  return (Object.entries(ERROR_CODES) as [ErrorCode, { status: number; meaning: string }][])
    .filter(([, entry]) => entry.status === status)
    .map(([code, entry]) => `\`${code}\`: ${entry.meaning}`)
    .join("; ");
}

/** The error answers any route may give (the route's own rule codes are in its description). */
function errorResponses(route: { method: string | string[]; config?: { public?: boolean } }): number[] {
  const methods = ([] as string[]).concat(route.method);
  const hasBody = methods.some((m) => ["POST", "PUT", "PATCH"].includes(m));
  const statuses = [400, 404, 500];
  if (route.config?.public !== true) statuses.push(401, 403);
  if (hasBody) statuses.push(413, 415);
  return statuses.sort();
}

/**
 * zod → JSON schema; `security: []` on public routes (the document requires a bearer token by default); and
 * each route's error answers with the catalog's codes (error-codes.ts), unless the route documents its own.
 */
const transform: SwaggerTransform = (document) => {
  const result = jsonSchemaTransform(document);
  const schema = (result.schema ?? {}) as { response?: Record<string, unknown>; hide?: boolean };
  if (schema.hide) return result;
  // a route without a response schema is documented with fastify-swagger's default 200, and its errors
  const response: Record<string, unknown> = schema.response
    ? { ...schema.response }
    : { 200: { description: "Default Response" } };
  for (const status of errorResponses(document.route as Parameters<typeof errorResponses>[0])) {
    response[status] ??= { description: describeStatus(status), ...errorBody };
  }
  const withErrors = { ...schema, response };
  if (document.route.config?.public !== true) return { ...result, schema: withErrors };
  return { ...result, schema: { ...withErrors, security: [] } };
};

/**
 * OpenAPI 3.1 document generated from the routes' zod schemas, served at `/openapi.json`,
 * and Swagger UI at `/docs`. Register it before any route so that every route is documented.
 */
export const openApiPlugin: FastifyPluginAsync<OpenApiOptions> = globalPlugin(
  "service-kit-openapi",
  async (app, { title, version, description }) => {
    await app.register(swagger, {
      openapi: {
        openapi: "3.1.0",
        info: { title, version, description },
        components: {
          securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
        },
        security: [{ bearerAuth: [] }],
      },
      transform,
    });

    await app.register(async (docs) => {
      docs.addHook("onRoute", (route) => {
        route.config = { ...route.config, public: true };
      });
      await docs.register(swaggerUi, { routePrefix: "/docs" });
    });

    app.get("/openapi.json", { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  },
);
