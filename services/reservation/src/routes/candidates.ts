import { IdSchema, IssuanceFrequencySchema } from "@energy/contracts";
import { badRequest, type FastifyPluginAsyncZod } from "@energy/service-kit";
import { z } from "zod";
import {
  expectedProductionWh,
  MAX_TARGET_CAPACITY_KW,
  MAX_TARGET_MWH,
  mwhToWh,
  periodProblems,
} from "../domain/reservation-rules.ts";
import { deviceView } from "../views.ts";
import { buyerOrg, READERS, type RouteDeps } from "./access.ts";

const code = z.string().trim().min(1).max(100);
/**
 * A code filter: one value as the seed's grouping input has it, or a list of them (a device matches any one;
 * the seed's grouped response lists `deviceTypeCodes` and `offTakers`). Exact match, case as the registry has it.
 */
const codeFilter = (example: string) =>
  z
    .union([code, z.array(code).min(1).max(50)])
    .optional()
    .describe(`one value or a list (any of them), e.g. ${example}`);

/** The seed's device grouping input (its names), with the filters of the Buyer Reservation form. */
const GroupingBody = z.object({
  countryCode: z.string().trim().min(2).max(3),
  fuelCode: codeFilter("ES100"),
  deviceCode: codeFilter("TC110").describe("device type code (the registry's deviceTypeCode): one or a list"),
  offTaker: codeFilter("School").describe("off-taker (School, Health facility, …): one or a list"),
  targetCapacity: z
    .number()
    .positive()
    .max(MAX_TARGET_CAPACITY_KW)
    .optional()
    .describe("kW: devices are taken until their capacity reaches it"),
  frequency: IssuanceFrequencySchema.optional(),
  starttime: z.iso.datetime({ offset: true }),
  endtime: z.iso.datetime({ offset: true }),
  targetVolume: z.number().min(0).max(MAX_TARGET_MWH).optional().describe("MWh"),
});

/** The Prisma condition of one code filter (absent: no condition). */
const matching = <K extends "fuelCode" | "deviceTypeCode" | "offTaker">(
  column: K,
  value: string | string[] | undefined,
) =>
  value === undefined
    ? {}
    : ({ [column]: typeof value === "string" ? value : { in: [...new Set(value)] } } as Record<
        K,
        string | { in: string[] }
      >);

const distinct = (values: (string | null)[]) =>
  [...new Set(values.filter((v): v is string => v !== null))].sort();

const CandidateView = z.object({
  device: z.object({}).passthrough(),
  organizationId: z.string(),
  expectedProductionWh: z.number(),
});

/**
 * Device grouping: the devices of every organization in the country that match the filters and are free to
 * reserve now (not reserved, not cooling down), with what they are expected to produce in the period from
 * their capacity and the plausibility yield. The buyer then reserves the ones it wants by id.
 */
export function candidateRoutes({
  db,
  requireOrgRole,
  defaultYieldKwhPerKwpYear,
}: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      "/organizations/:orgId/reservation-candidates",
      {
        schema: {
          summary: "Group eligible devices across organizations of one country for a reservation",
          params: z.object({ orgId: IdSchema }),
          body: GroupingBody,
          response: {
            200: z.object({
              countryCode: z.string(),
              candidates: z.array(CandidateView),
              organizationIds: z.array(z.string()),
              deviceTypeCodes: z.array(z.string()).describe("distinct, sorted, of the candidates"),
              offTakers: z.array(z.string()).describe("distinct, sorted, of the candidates"),
              totalCapacityKw: z.number(),
              expectedProductionWh: z.number(),
              targetVolumeWh: z.number().nullable(),
              coversTarget: z.boolean().nullable(),
            }),
          },
        },
      },
      async (request) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, READERS);
        await buyerOrg(db, orgId);
        const body = request.body;
        const start = new Date(body.starttime);
        const end = new Date(body.endtime);
        const [problem] = periodProblems(start, end, new Date());
        if (problem)
          throw badRequest(problem.code, `${problem.field} ${problem.message}`, { field: problem.field });
        const now = new Date();
        const devices = await db.device.findMany({
          where: {
            countryCode: body.countryCode,
            deleted: false,
            ...matching("fuelCode", body.fuelCode),
            ...matching("deviceTypeCode", body.deviceCode),
            ...matching("offTaker", body.offTaker),
          },
          orderBy: [{ capacityW: "desc" }, { id: "asc" }],
          take: 10_000,
        });
        const locks = await db.deviceLock.findMany({
          where: {
            deviceId: { in: devices.map((d) => d.id) },
            OR: [{ lockedUntil: null }, { lockedUntil: { gt: now } }],
          },
          select: { deviceId: true },
        });
        const held = new Set(locks.map((l) => l.deviceId));
        const limitW = body.targetCapacity ? body.targetCapacity * 1000 : Number.POSITIVE_INFINITY;
        const chosen = [];
        let capacityW = 0;
        for (const d of devices) {
          if (held.has(d.id)) continue;
          if (capacityW >= limitW) break;
          chosen.push(d);
          capacityW += d.capacityW ?? 0;
        }
        const candidates = chosen.map((d) => ({
          device: deviceView(d),
          organizationId: d.orgId,
          expectedProductionWh: expectedProductionWh(d.capacityW, start, end, defaultYieldKwhPerKwpYear),
        }));
        const expected = candidates.reduce((sum, c) => sum + c.expectedProductionWh, 0);
        const targetWh = body.targetVolume === undefined ? null : Number(mwhToWh(body.targetVolume));
        return {
          countryCode: body.countryCode,
          candidates,
          organizationIds: [...new Set(chosen.map((d) => d.orgId))].sort(),
          deviceTypeCodes: distinct(chosen.map((d) => d.deviceTypeCode)),
          offTakers: distinct(chosen.map((d) => d.offTaker)),
          totalCapacityKw: capacityW / 1000,
          expectedProductionWh: expected,
          targetVolumeWh: targetWh,
          coversTarget: targetWh === null ? null : expected >= targetWh,
        };
      },
    );
  };
}
