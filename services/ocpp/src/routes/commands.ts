import { randomUUID } from "node:crypto";
import { IdSchema, OcppCommandSchema } from "@energy/contracts";
import { type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import type { Commands } from "../central/commands.ts";
import type { CommandLog } from "../generated/prisma/client.ts";
import { chargerOfOrg, isoOrNull, OPERATORS, READERS, type RouteDeps } from "./access.ts";

const ChargerParams = z.object({ orgId: IdSchema, chargePointId: IdSchema });
const CommandParams = z.object({ orgId: IdSchema, commandId: z.uuid() });
const Query = z.object({
  wait: z
    .enum(["true", "false"])
    .default("true")
    .transform((v) => v === "true")
    .describe("wait for the charger's answer (up to the command timeout); false answers 202 at once"),
});

const CommandView = z.object({
  commandId: z.string(),
  chargePointId: z.string(),
  command: z.string(),
  action: z.string().nullable().describe("the OCPP action sent (it depends on the charger's version)"),
  status: z.enum(["pending", "completed", "failed"]),
  response: z.unknown().nullable().describe("the charger's answer"),
  errorCode: z
    .string()
    .nullable()
    .describe(
      "NotConnected, UnknownChargePoint, Timeout, InvalidCommand, ChargerRejected or a CALLERROR code",
    ),
  errorMessage: z.string().nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
});

const view = (c: CommandLog): z.infer<typeof CommandView> => ({
  commandId: c.id,
  chargePointId: c.chargePointId,
  command: c.command,
  action: c.action,
  status: c.status as "pending" | "completed" | "failed",
  response: c.response ?? null,
  errorCode: c.errorCode,
  errorMessage: c.errorMessage,
  createdAt: c.createdAt.toISOString(),
  completedAt: isoOrNull(c.completedAt),
});

/**
 * POST /v1/orgs/:orgId/chargers/:chargePointId/commands: one command vocabulary for both OCPP versions
 * (packages/contracts OcppCommandSchema). Its result is also published on ocpp.command-result.v1 with the
 * request's id as correlation id. GET /v1/orgs/:orgId/commands/:commandId reads it back.
 */
export function commandRoutes(
  deps: RouteDeps & { commands: Commands; timeoutMs: number },
): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      "/v1/orgs/:orgId/chargers/:chargePointId/commands",
      {
        schema: {
          summary: "Send a command to a charger (operators and up)",
          tags: ["commands"],
          params: ChargerParams,
          querystring: Query,
          body: OcppCommandSchema,
          response: { 200: CommandView, 202: CommandView },
        },
      },
      async (request, reply) => {
        const { orgId, chargePointId } = request.params;
        await deps.requireOrgRole(request, orgId, OPERATORS);
        await chargerOfOrg(deps.db, orgId, chargePointId);
        const logged = await deps.commands.submit(
          {
            commandId: randomUUID(),
            chargePointId,
            request: request.body,
            requestedBy: request.identity.id,
            correlationId: request.id,
            source: "http",
          },
          orgId,
        );
        if (!request.query.wait) return reply.code(202).send(view(logged));
        const deadline = Date.now() + deps.timeoutMs + 2_000;
        let current = logged;
        while (current.status === "pending" && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
          current = (await deps.db.commandLog.findUnique({ where: { id: logged.id } })) ?? current;
        }
        return reply.code(current.status === "pending" ? 202 : 200).send(view(current));
      },
    );
    app.get(
      "/v1/orgs/:orgId/commands/:commandId",
      {
        schema: {
          summary: "A command and its result",
          tags: ["commands"],
          params: CommandParams,
          response: { 200: CommandView },
        },
      },
      async (request) => {
        const { orgId, commandId } = request.params;
        await deps.requireOrgRole(request, orgId, READERS);
        const command = await deps.db.commandLog.findUnique({ where: { id: commandId } });
        if (!command || command.orgId !== orgId) throw notFound("command");
        return view(command);
      },
    );
  };
}
