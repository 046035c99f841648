import { type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import { type CertificateDocument, granularBundles } from "../domain/document.ts";
import { CertificateParams, READERS, type RouteDeps } from "./access.ts";

const Bundle = z.object({
  issuanceId: z.string().describe("device id and hour start"),
  deviceId: z.string(),
  productionStart: z.iso.datetime(),
  productionEnd: z.iso.datetime(),
  energyWh: z.number().int(),
  bundleIdRange: z
    .object({ start: z.number().int().min(1), end: z.number().int().min(1) })
    .nullable()
    .describe("the bundle's Wh ids, running on per device across its certificates; null before the mint"),
  technology: z.string().nullable(),
  capacityW: z.number().int().nullable(),
  commissioningDate: z.string().nullable(),
  location: z.unknown(),
});

/** A certificate as EnergyTag-style granular certificate bundles: one per device and hour. */
export function bundleRoutes({
  db,
  requireOrgRole,
  chainId,
  registryAddress,
}: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/organizations/:orgId/certificates/:certificateId/bundles",
      {
        schema: {
          summary: "The certificate as hourly granular bundles, EnergyTag style (any member)",
          tags: ["certificates"],
          params: CertificateParams,
          response: {
            200: z.object({
              certificateId: z.string(),
              tokenId: z.string().nullable(),
              chainId: z.number().int(),
              registryAddress: z.string(),
              documentHash: z.string(),
              energyWh: z.number().int(),
              bundles: z.array(Bundle),
            }),
          },
        },
      },
      async (request) => {
        const { orgId, certificateId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        const c = await db.certificate.findFirst({ where: { id: certificateId, buyerOrgId: orgId } });
        if (!c) throw notFound("certificate");
        return {
          certificateId: c.id,
          tokenId: c.tokenId,
          chainId,
          registryAddress,
          documentHash: c.documentHash,
          energyWh: Number(c.energyWh),
          bundles: granularBundles(
            c.document as unknown as CertificateDocument,
            c.bundleStarts as Record<string, number> | null,
          ),
        };
      },
    );
  };
}
