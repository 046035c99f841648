import swagger, { type SwaggerTransform } from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyPluginAsync } from "fastify";
import { jsonSchemaTransform } from "fastify-type-provider-zod";
import { z } from "zod";
import { type ErrorCodeEntry, GENERIC_ERROR_CODES, routeErrorCodes } from "./error-codes.ts";
import { ErrorResponseSchema } from "./errors.ts";
import { globalPlugin } from "./global-plugin.ts";

export type OpenApiOptions = {
  title: string;
  version: string;
  description?: string;
  /** the service's name, whose rule codes of the catalog (error-codes/<service>.ts) its routes list */
  service?: string;
};

/** The error body's JSON schema (the same for every error answer). */
const { $schema: _, ...errorBody } = z.toJSONSchema(ErrorResponseSchema) as Record<string, unknown>;

/** Codes as a response description: "`not_found`: No such resource …; `last_owner`: …". */
function describeCodes(entries: [string, ErrorCodeEntry][]): string {
  return entries.map(([code, entry]) => `\`${code}\`: ${entry.meaning}`).join("; ");
}

/** The generic codes of one status (any route may answer them). */
function genericCodes(status: number): [string, ErrorCodeEntry][] {
  return Object.entries(GENERIC_ERROR_CODES).filter(([, entry]) => entry.status === status);
}

/** The error answers any route may give (its own rule codes come from the catalog: routeErrorCodes). */
function errorResponses(route: { method: string | string[]; config?: { public?: boolean } }): number[] {
  const methods = ([] as string[]).concat(route.method);
  const hasBody = methods.some((m) => ["POST", "PUT", "PATCH"].includes(m));
  const statuses = [400, 404, 500];
  if (route.config?.public !== true) statuses.push(401, 403);
  if (hasBody) statuses.push(413, 415);
  return statuses.sort();
}

/** "DELETE /organizations/{orgId}/members/{identityId}": a route as the OpenAPI document names it. */
function openApiRoute(method: string, url: string): string {
  return `${method} ${url.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`;
}

/**
 * zod → JSON schema; `security: []` on public routes (the document requires a bearer token by default); and
 * each route's error answers with the catalog's codes (error-codes.ts): the generic ones by status, and the
 * service's rule codes that name the route. A status the route documents itself keeps its own description,
 * with the catalog's codes of that status after it.
 */
function errorCatalogTransform(service: string | undefined): SwaggerTransform {
  return (document) => {
    const result = jsonSchemaTransform(document);
    const schema = (result.schema ?? {}) as { response?: Record<string, unknown>; hide?: boolean };
    if (schema.hide) return result;
    const route = document.route as Parameters<typeof errorResponses>[0] & { url: string };
    // a route without a response schema is documented with fastify-swagger's default 200, and its errors
    const response: Record<string, unknown> = schema.response
      ? { ...schema.response }
      : { 200: { description: "Default Response" } };
    const own = service
      ? ([] as string[])
          .concat(route.method)
          .flatMap((method) => routeErrorCodes(service, openApiRoute(method, route.url)))
      : [];
    const statuses = new Set([...errorResponses(route), ...own.map(([, entry]) => entry.status)]);
    for (const status of [...statuses].sort()) {
      const codes = [...genericCodes(status), ...own.filter(([, entry]) => entry.status === status)];
      const existing = response[status] as { description?: string } | undefined;
      if (!existing) {
        response[status] = { description: describeCodes(codes), ...errorBody };
      } else if (codes.length > 0) {
        const before = existing.description ? `${existing.description}. ` : "";
        response[status] = { ...existing, description: `${before}Codes: ${describeCodes(codes)}` };
      }
    }
    const withErrors = { ...schema, response };
    if (document.route.config?.public !== true) return { ...result, schema: withErrors };
    return { ...result, schema: { ...withErrors, security: [] } };
  };
}

/**
 * OpenAPI 3.1 document generated from the routes' zod schemas, served at `/openapi.json`,
 * and Swagger UI at `/docs`. Register it before any route so that every route is documented.
 */
export const openApiPlugin: FastifyPluginAsync<OpenApiOptions> = globalPlugin(
  "service-kit-openapi",
  async (app, { title, version, description, service }) => {
    await app.register(swagger, {
      openapi: {
        openapi: "3.1.0",
        info: { title, version, description },
        components: {
          securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
        },
        security: [{ bearerAuth: [] }],
      },
      transform: errorCatalogTransform(service),
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
