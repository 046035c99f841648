import { IdSchema } from "@energy/contracts";
import { badRequest, type FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import { hashPassword, PASSWORD_RULE } from "../domain/password.ts";
import { ADMINS, chargerOfOrg, type RouteDeps } from "./access.ts";

const Params = z.object({ orgId: IdSchema, chargePointId: IdSchema });
const Body = z.object({
  password: z
    .string()
    .max(40)
    .describe("16 to 40 printable ASCII characters (OCPP security profiles 1 and 2: HTTP Basic auth)"),
  securityProfile: z
    .union([z.literal(1), z.literal(2)])
    .optional()
    .describe(
      "1: over ws or wss; 2: over wss (TLS) only, a plain connection is refused with 403. Omitted: unchanged (1 for a first password)",
    ),
});

/**
 * PUT /v1/orgs/:orgId/chargers/:chargePointId/password: sets the charger's Basic-auth password (stored
 * scrypt-hashed, never shown again) and its security profile (2: TLS only). The charger must then present
 * it as `<chargePointId>:<password>`.
 */
export function chargerPasswordRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.put(
      "/v1/orgs/:orgId/chargers/:chargePointId/password",
      {
        schema: {
          summary: "Set a charger's websocket password (owners and admins)",
          tags: ["chargers"],
          params: Params,
          body: Body,
          response: { 204: z.null().describe("the password is set; the previous one no longer works") },
        },
      },
      async (request, reply) => {
        const { orgId, chargePointId } = request.params;
        await deps.requireOrgRole(request, orgId, ADMINS);
        await chargerOfOrg(deps.db, orgId, chargePointId);
        if (!PASSWORD_RULE.test(request.body.password)) {
          throw badRequest("invalid_password", "password must be 16 to 40 printable ASCII characters", {
            field: "password",
          });
        }
        const passwordHash = await hashPassword(request.body.password);
        const setBy = request.identity.id;
        const { securityProfile } = request.body;
        await deps.db.chargerCredential.upsert({
          where: { chargePointId },
          create: { chargePointId, passwordHash, securityProfile: securityProfile ?? 1, setBy },
          // a new password does not lower the profile unless asked to
          update: { passwordHash, setBy, ...(securityProfile !== undefined ? { securityProfile } : {}) },
        });
        return reply.code(204).send(null);
      },
    );
  };
}
