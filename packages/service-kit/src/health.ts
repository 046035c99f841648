import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";

export type ReadinessChecks = Record<string, () => Promise<unknown>>;

export type HealthOptions = { readiness: ReadinessChecks; timeoutMs: number };

const LivenessSchema = z.object({ status: z.literal("ok") });
const ReadinessSchema = z.object({
  status: z.enum(["ready", "not_ready"]),
  checks: z
    .record(z.string(), z.enum(["ok", "failed", "timed_out"]))
    .describe("each dependency's state; why one failed is in the service's log, not in this public answer"),
});

class CheckTimeout extends Error {}

async function withTimeout(check: () => Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout(`timed out after ${ms}ms`)), ms);
  });
  try {
    await Promise.race([check(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `/healthz`: the process answers. `/readyz`: every dependency answers within the time limit. */
export const healthRoutes: FastifyPluginAsyncZod<HealthOptions> = async (app, { readiness, timeoutMs }) => {
  app.get(
    "/healthz",
    {
      config: { public: true },
      schema: {
        summary: "Liveness: the process answers (no dependency is checked)",
        tags: ["ops"],
        response: { 200: LivenessSchema },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      config: { public: true },
      schema: {
        summary:
          "Readiness: every dependency answers within the time limit (503 naming the ones that do not)",
        tags: ["ops"],
        response: { 200: ReadinessSchema, 503: ReadinessSchema },
      },
    },
    async (request, reply) => {
      const results = await Promise.all(
        Object.entries(readiness).map(async ([name, check]) => {
          try {
            await withTimeout(check, timeoutMs);
            return [name, "ok"] as const;
          } catch (error) {
            // The reason (hosts, ports, driver messages) goes to the log only: /readyz is public.
            request.log.warn({ check: name, err: error }, "readiness check failed");
            return [name, error instanceof CheckTimeout ? "timed_out" : "failed"] as const;
          }
        }),
      );
      const ready = results.every(([, result]) => result === "ok");
      return reply
        .status(ready ? 200 : 503)
        .send({ status: ready ? "ready" : "not_ready", checks: Object.fromEntries(results) });
    },
  );
};
