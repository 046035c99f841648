import { randomUUID } from "node:crypto";
import { IdSchema, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import type { FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import type { Commands } from "../central/commands.ts";
import { ADMINS, chargerOfOrg, type RouteDeps } from "./access.ts";

const Params = z.object({ orgId: IdSchema, chargePointId: IdSchema });
const Body = z.object({
  status: z
    .enum(["Accepted", "Rejected"])
    .describe("what the charger's BootNotifications are answered from now on (instead of BOOT_POLICY)"),
});
const RegistrationView = z.object({
  chargePointId: z.string(),
  status: z.enum(["Accepted", "Rejected"]),
  decidedBy: z.string(),
  decidedAt: z.string(),
  bootStatus: z
    .string()
    .nullable()
    .describe("what its last BootNotification was answered (before this decision takes effect)"),
  triggerCommandId: z
    .uuid()
    .nullable()
    .describe(
      "a TriggerMessage BootNotification sent so the connected charger boots again now (GET /v1/orgs/:orgId/commands/:id); null when it is not connected, already answered so, or Rejected (then its next boot gets the decision)",
    ),
});

/**
 * PUT /v1/orgs/:orgId/chargers/:chargePointId/registration (owners and admins): accepts or rejects a charger,
 * typically one its BootNotification left Pending (BOOT_POLICY=Pending). Stored in charger_registration and
 * announced as `charger.registration_changed`; when the charger is connected and its last boot was answered
 * otherwise (and not Rejected: a rejected charger is sent nothing, B03), a TriggerMessage BootNotification
 * makes it boot again now and get the decision.
 */
export function chargerRegistrationRoutes(
  deps: RouteDeps & { commands: Commands; published: () => void },
): FastifyPluginAsyncZod {
  return async (app) => {
    app.put(
      "/v1/orgs/:orgId/chargers/:chargePointId/registration",
      {
        schema: {
          summary: "Accept or reject a charger's registration (owners and admins)",
          tags: ["chargers"],
          params: Params,
          body: Body,
          response: { 200: RegistrationView },
        },
      },
      async (request) => {
        const { orgId, chargePointId } = request.params;
        await deps.requireOrgRole(request, orgId, ADMINS);
        await chargerOfOrg(deps.db, orgId, chargePointId);
        const { status } = request.body;
        const decidedBy = request.identity.id;
        const decidedAt = new Date();
        const { point, triggerCommandId } = await deps.db.$transaction(async (tx) => {
          await tx.chargerRegistration.upsert({
            where: { chargePointId },
            create: { chargePointId, status, decidedBy, decidedAt },
            update: { status, decidedBy, decidedAt },
          });
          const [point, session] = await Promise.all([
            tx.chargePoint.findUnique({ where: { serialNumber: chargePointId } }),
            tx.chargerSession.findUnique({ where: { chargePointId } }),
          ]);
          const boot = point?.bootStatus ?? null;
          const trigger = session !== null && boot !== null && boot !== status && boot !== "Rejected";
          const triggerCommandId = trigger ? randomUUID() : null;
          await enqueueEvent(
            tx,
            topics.ocppCharger,
            "charger.registration_changed",
            { chargePointId, status, decidedBy, triggerCommandId },
            { correlationId: request.id },
          );
          return { point, triggerCommandId };
        });
        deps.published();
        if (triggerCommandId) {
          // after the decision is stored, so the boot it causes is answered with it
          await deps.commands.submit(
            {
              commandId: triggerCommandId,
              chargePointId,
              request: { command: "trigger_message", message: "BootNotification" },
              requestedBy: decidedBy,
              correlationId: request.id,
              source: "http",
            },
            orgId,
          );
        }
        return {
          chargePointId,
          status,
          decidedBy,
          decidedAt: decidedAt.toISOString(),
          bootStatus: point?.bootStatus ?? null,
          triggerCommandId,
        };
      },
    );
  };
}
