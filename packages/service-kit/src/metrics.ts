import type { FastifyPluginAsync } from "fastify";
import { collectDefaultMetrics, Histogram, Registry } from "prom-client";
import { globalPlugin } from "./global-plugin.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** This app's Prometheus registry: register the service's own gauges and counters here. */
    metrics: Registry;
  }
}

/** Per-app registry (no global state, so several apps can live in one test process). */
export const metricsPlugin: FastifyPluginAsync<{ service: string }> = globalPlugin(
  "service-kit-metrics",
  async (app, opts) => {
    const registry = new Registry();
    registry.setDefaultLabels({ service: opts.service });
    collectDefaultMetrics({ register: registry });

    const duration = new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request duration in seconds, by method, route and status code",
      labelNames: ["method", "route", "status_code"] as const,
      registers: [registry],
    });

    app.decorate("metrics", registry);

    app.addHook("onResponse", async (request, reply) => {
      // The route pattern, never the raw URL, keeps label cardinality bounded.
      const route = request.is404 ? "unmatched" : (request.routeOptions.url ?? "unmatched");
      duration.observe(
        { method: request.method, route, status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });

    app.get("/metrics", { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
      reply.header("content-type", registry.contentType);
      return registry.metrics();
    });

    app.addHook("onClose", async () => registry.clear());
  },
);
