import swagger, { type SwaggerTransform } from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyPluginAsync } from "fastify";
import { jsonSchemaTransform } from "fastify-type-provider-zod";
import { globalPlugin } from "./global-plugin.ts";

export type OpenApiOptions = { title: string; version: string; description?: string };

/** zod → JSON schema, and `security: []` on public routes (the document requires a bearer token by default). */
const transform: SwaggerTransform = (document) => {
  const result = jsonSchemaTransform(document);
  if (document.route.config?.public !== true) return result;
  return { ...result, schema: { ...result.schema, security: [] } };
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
