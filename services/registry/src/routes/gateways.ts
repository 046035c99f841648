import { DeviceStateSchema, topics } from "@energy/contracts";
import { enqueueEvent } from "@energy/kafka";
import { badRequest, type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import { type RouteDeps, WRITERS } from "./access.ts";

const ClaimParams = z.object({ orgId: z.string().min(1), gatewayId: z.string().min(1) });
const ClaimBody = z.object({ siteId: z.string().min(1).nullish() }).nullish();

const ClaimView = z.object({
  gatewayId: z.string(),
  orgId: z.string(),
  siteId: z.string().nullable(),
  previousOrgId: z.string().nullable(),
  orphanedDeviceIds: z.array(z.string()),
  claimedAt: z.iso.datetime(),
});

export function gatewayRoutes(opts: RouteDeps): FastifyPluginAsyncZod {
  const { db, requireOrgRole, published } = opts;
  return async (app) => {
    app.post(
      "/organizations/:orgId/gateways/:gatewayId/claim",
      {
        schema: {
          summary: "Claim a gateway for the organization (owner, admin, operator)",
          description:
            "The gateway identity must exist and be of type gateway. When another organization had claimed it, " +
            "that organization's devices talking through it become orphaned (device.state_changed each).",
          tags: ["gateways"],
          params: ClaimParams,
          body: ClaimBody,
          response: { 200: ClaimView },
        },
      },
      async (request) => {
        const { orgId, gatewayId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const siteId = request.body?.siteId ?? null;
        const identity = await db.identity.findUnique({ where: { id: gatewayId } });
        if (identity?.type !== "gateway" || identity.revokedAt) throw notFound("gateway");
        if (siteId && !(await db.site.findFirst({ where: { id: siteId, orgId }, select: { id: true } }))) {
          throw badRequest("unknown_site", "siteId: no such site in this organization", { field: "siteId" });
        }
        const result = await db.$transaction(async (tx) => {
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`gateway-claim:${gatewayId}`}))`;
          const previous = await tx.gatewayClaim.findUnique({ where: { gatewayId } });
          const previousOrgId = previous && previous.orgId !== orgId ? previous.orgId : null;
          const claimedAt = new Date();
          await tx.gatewayClaim.upsert({
            where: { gatewayId },
            create: { gatewayId, orgId, siteId, claimedAt, claimedBy: request.identity.id },
            update: { orgId, siteId, claimedAt, claimedBy: request.identity.id },
          });
          const orphaned = previousOrgId
            ? await tx.device.findMany({
                where: { orgId: previousOrgId, commIdentityId: gatewayId, state: { not: "orphaned" } },
                orderBy: { id: "asc" },
              })
            : [];
          for (const device of orphaned) {
            await tx.device.update({ where: { id: device.id }, data: { state: "orphaned" } });
            await enqueueEvent(
              tx,
              topics.registryDevice,
              "device.state_changed",
              {
                deviceId: device.id,
                orgId: device.orgId,
                from: DeviceStateSchema.parse(device.state),
                to: "orphaned",
                reason: `gateway ${gatewayId} claimed by another organization`,
              },
              { key: device.id, correlationId: request.id },
            );
          }
          await enqueueEvent(
            tx,
            topics.registryGateway,
            "gateway.claimed",
            { gatewayId, orgId, siteId, previousOrgId },
            { correlationId: request.id },
          );
          return { previousOrgId, orphanedDeviceIds: orphaned.map((d) => d.id), claimedAt };
        });
        published();
        return {
          gatewayId,
          orgId,
          siteId,
          previousOrgId: result.previousOrgId,
          orphanedDeviceIds: result.orphanedDeviceIds,
          claimedAt: result.claimedAt.toISOString(),
        };
      },
    );
  };
}
