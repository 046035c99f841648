import { type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import { canonicalJson } from "../domain/canonical-json.ts";
import type { RouteDeps } from "./access.ts";

const Params = z.object({
  hash: z
    .string()
    .max(66)
    .regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed keccak256"),
});

/**
 * A certificate document by its hash, for anyone who has the hash (it is on chain): the exact canonical
 * bytes that were hashed, so keccak256 of the body is the hash asked for.
 */
export function documentRoutes({ db }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/documents/:hash",
      {
        config: { public: true },
        schema: {
          summary: "A certificate document by its keccak256 (public); the body is its canonical JSON",
          tags: ["verification"],
          params: Params,
          response: { 200: z.record(z.string(), z.unknown()) },
        },
      },
      async (request, reply) => {
        const c = await db.certificate.findUnique({
          where: { documentHash: request.params.hash.toLowerCase() },
        });
        if (!c) throw notFound("document");
        return reply
          .type("application/json")
          .serializer((body: unknown) => canonicalJson(body))
          .send(c.document as Record<string, unknown>);
      },
    );
  };
}
