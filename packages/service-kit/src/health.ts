import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";

export type ReadinessChecks = Record<string, () => Promise<unknown>>;

export type HealthOptions = { readiness: ReadinessChecks; timeoutMs: number };

const LivenessSchema = z.object({ status: z.literal("ok") });
const ReadinessSchema = z.object({
  status: z.enum(["ready", "not_ready"]),
  checks: z.record(z.string(), z.string()).describe('"ok" or the reason the check failed, by check name'),
});

async function withTimeout(check: () => Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms`)), ms);
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
    { config: { public: true }, schema: { tags: ["ops"], response: { 200: LivenessSchema } } },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      config: { public: true },
      schema: { tags: ["ops"], response: { 200: ReadinessSchema, 503: ReadinessSchema } },
    },
    async (request, reply) => {
      const results = await Promise.all(
        Object.entries(readiness).map(async ([name, check]) => {
          try {
            await withTimeout(check, timeoutMs);
            return [name, "ok"] as const;
          } catch (error) {
            const reason = error instanceof Error ? error.message : String(error);
            request.log.warn({ check: name, err: error }, "readiness check failed");
            return [name, `failed: ${reason}`] as const;
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
