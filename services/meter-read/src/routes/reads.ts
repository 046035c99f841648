import { ID_MAX_LENGTH, IdSchema, ReadTypeSchema } from "@energy/contracts";
import { type FastifyPluginAsyncZod, notFound } from "@energy/service-kit";
import { z } from "zod";
import { query } from "../db.ts";
import { isoOf } from "../domain/iso.ts";
import { parseTimestamp } from "../domain/timestamps.ts";
import { ENERGY_UNITS, type EnergyUnit } from "../domain/units.ts";
import { isTimeZone, TIME_ZONE_MAX_LENGTH } from "../domain/zoned.ts";
import { type DeviceBatch, storeBatches } from "../reads/store.ts";
import { type RouteDeps, WRITERS } from "./access.ts";
import { answerJson, type ReadsAnswer } from "./reads-answer.ts";

/** Longer than any ISO 8601 timestamp with fractions and an offset: the rest is not a timestamp. */
const TIMESTAMP_MAX_LENGTH = 64;

const DeviceRef = {
  deviceId: IdSchema.optional().describe("the platform's device id (dev-…)"),
  externalId: z
    .string()
    .min(1)
    .max(ID_MAX_LENGTH)
    .optional()
    .describe("the organization's own id for the device (D-REC externalId)"),
};

const ReadBody = z.object({
  ...DeviceRef,
  starttimestamp: z
    .string()
    .max(TIMESTAMP_MAX_LENGTH)
    .optional()
    .describe("history reads: start of the tenure (included)"),
  endtimestamp: z
    .string()
    .max(TIMESTAMP_MAX_LENGTH)
    .describe("end of the read's period (not included); the read's timestamp"),
  value: z.number().describe("energy (history, delta) or the register (aggregate), in the batch's unit"),
});

export function readsBody(maxReads: number) {
  return z
    .object({
      ...DeviceRef,
      type: z
        .enum([...ReadTypeSchema.options, "meter read"])
        .describe('history, delta or aggregate ("meter read", the seed\'s name, is aggregate)'),
      unit: z.enum(Object.keys(ENERGY_UNITS) as [EnergyUnit, ...EnergyUnit[]]),
      timezone: z
        .string()
        .max(TIME_ZONE_MAX_LENGTH)
        .optional()
        .describe("IANA zone for timestamps without an offset"),
      reads: z.array(ReadBody).min(1).max(maxReads),
    })
    .superRefine((body, ctx) => {
      if (body.timezone !== undefined && !isTimeZone(body.timezone)) {
        ctx.addIssue({ code: "custom", path: ["timezone"], message: `unknown time zone "${body.timezone}"` });
      }
    });
}

type Body = z.infer<ReturnType<typeof readsBody>>;
type Ref = { id: string } | { ext: string };

/** Which device a read names (its own deviceId/externalId, else the batch's). */
function refOf(body: Body, read: Pick<Body["reads"][number], "deviceId" | "externalId">): Ref | null {
  if (read.deviceId !== undefined) return { id: read.deviceId };
  if (read.externalId !== undefined) return { ext: read.externalId };
  if (body.deviceId !== undefined) return { id: body.deviceId };
  if (body.externalId !== undefined) return { ext: body.externalId };
  return null;
}

interface ParsedRead {
  ref: Ref;
  startMs: number | null;
  endMs: number;
}

/**
 * The timestamps and devices of every read, in one pass (here rather than in the body schema, where each
 * would be parsed twice: 10,000 reads a request); a problem is a 400 naming each field, as the schema's.
 */
function parseReads(body: Body): ParsedRead[] {
  const issues: z.core.$ZodIssue[] = [];
  const issue = (i: number, field: string, message: string) =>
    issues.push({ code: "custom", path: ["body", "reads", i, field], message, input: undefined });
  const tz = body.timezone;
  // The ends seen per device reference; the batch's own reference (most reads name none) made once.
  const seenById = new Map<string, Set<number>>();
  const seenByExt = new Map<string, Set<number>>();
  const batchRef = refOf(body, {});
  const parsed = body.reads.map((read, i): ParsedRead => {
    const ref = read.deviceId === undefined && read.externalId === undefined ? batchRef : refOf(body, read);
    if (ref === null) issue(i, "deviceId", "name the device (deviceId or externalId)");
    let startMs: number | null = null;
    if (read.starttimestamp !== undefined) {
      const start = parseTimestamp(read.starttimestamp, tz);
      if (start.ok) startMs = start.ms;
      else issue(i, "starttimestamp", start.message);
    } else if (body.type === "history") {
      issue(i, "starttimestamp", "a history read needs a start");
    }
    const end = parseTimestamp(read.endtimestamp, tz);
    if (!end.ok) issue(i, "endtimestamp", end.message);
    else if (ref !== null) {
      const [seen, key] = "id" in ref ? [seenById, ref.id] : [seenByExt, ref.ext];
      let ends = seen.get(key);
      if (ends === undefined) {
        ends = new Set<number>();
        seen.set(key, ends);
      }
      if (ends.has(end.ms))
        issue(i, "endtimestamp", `${read.endtimestamp} appears twice for the same device in this batch`);
      ends.add(end.ms);
    }
    return { ref: ref ?? { id: "" }, startMs, endMs: end.ok ? end.ms : Number.NaN };
  });
  if (issues.length > 0) throw new z.ZodError(issues);
  return parsed;
}

const IssueView = z.object({
  index: z.int().describe("the read's index in the request"),
  field: z.string(),
  code: z.string(),
  message: z.string(),
});

const ResultView = z.object({
  index: z.int(),
  deviceId: z.string(),
  status: z.enum(["stored", "stored_with_warnings", "refused"]),
  duplicate: z.boolean().describe("the same read was stored before; nothing was stored again"),
  readId: z.string().nullable(),
  endtimestamp: z.iso.datetime(),
  value: z.number(),
  energyWh: z.int().nullable().describe("energy counted for [start, end) in Wh; null for a starting point"),
  warnings: z.array(IssueView),
  reasons: z.array(IssueView).describe("why a read was refused"),
});

const ReadsResponse = z.object({
  stored: z.int().describe("reads stored by this request"),
  duplicates: z.int(),
  refused: z.int(),
  results: z.array(ResultView),
});

/** The one endpoint for every read type, addressed by device id or the organization's externalId. */
export function readRoutes(
  deps: RouteDeps & { maxReads: number; futureToleranceMs: number; published: () => void },
): FastifyPluginAsyncZod {
  const { db, requireOrgRole } = deps;
  const Body = readsBody(deps.maxReads);
  return async (app) => {
    app.post(
      "/organizations/:orgId/reads",
      {
        schema: {
          summary: "Submit meter reads (owner, admin, operator)",
          description:
            "One batch of history, delta or aggregate reads, for one device (deviceId or externalId at the top) or " +
            "several (on each read). Every read is answered: stored, stored with warnings, or refused with coded " +
            "reasons naming its index and field. Refused reads are kept (GET …/refused-reads). Sending the same " +
            "reads again stores nothing twice; another value for a stored timestamp is refused as a conflict. " +
            "Malformed input (dates, numbers, type, unit, size, a timestamp twice) is a 400 naming the field.",
          tags: ["reads"],
          params: z.object({ orgId: IdSchema }),
          body: Body,
          response: { 200: ReadsResponse },
        },
      },
      // The answer (10,000 results) is typed by the schema at compile time and sent as the bytes answerJson
      // writes (reads-answer.ts): encoding it through zod again at run time cost a tenth of the request's CPU,
      // and JSON.stringify of the result objects several times answerJson. The schema still documents it
      // (OpenAPI); a Buffer is sent as it is.
      async (request, reply) => {
        const { orgId } = request.params;
        await requireOrgRole(request, orgId, WRITERS);
        const body = request.body;
        const type = body.type === "meter read" ? "aggregate" : body.type;
        const reads = parseReads(body);

        // Resolve every device the batch names, within the organization.
        const ids = new Set<string>();
        const externalIds = new Set<string>();
        for (const { ref } of reads) {
          if ("id" in ref) ids.add(ref.id);
          else externalIds.add(ref.ext);
        }
        const devices = await query<Array<{ id: string; externalId: string | null }>>(
          db,
          `SELECT id, external_id AS "externalId" FROM device
            WHERE org_id = $1 AND deleted_at IS NULL AND (id = ANY($2::text[]) OR external_id = ANY($3::text[]))`,
          orgId,
          [...ids],
          [...externalIds],
        );
        const byId = new Map(devices.map((d) => [d.id, d.id]));
        const byExt = new Map(devices.filter((d) => d.externalId !== null).map((d) => [d.externalId!, d.id]));
        for (const id of ids) if (!byId.has(id)) throw notFound(`device ${id}`);
        for (const ext of externalIds) if (!byExt.has(ext)) throw notFound(`device with externalId ${ext}`);

        const batches = new Map<string, DeviceBatch>();
        const deviceOf = reads.map(({ ref }) => ("id" in ref ? byId.get(ref.id)! : byExt.get(ref.ext)!));
        reads.forEach((read, index) => {
          const deviceId = deviceOf[index]!;
          let batch = batches.get(deviceId);
          if (!batch) {
            batch = { deviceId, type, source: "api", unit: body.unit, reads: [], raw: (i) => body.reads[i] };
            batches.set(deviceId, batch);
          }
          batch.reads.push({
            index,
            startMs: read.startMs,
            endMs: read.endMs,
            value: body.reads[index]!.value,
          });
        });

        const results = await storeBatches(db, [...batches.values()], {
          nowMs: Date.now(),
          futureToleranceMs: deps.futureToleranceMs,
          correlationId: request.id,
        });
        deps.published();
        const outcomes = results.flatMap((r) => r.outcomes).sort((a, b) => a.index - b.index);
        let stored = 0;
        let duplicates = 0;
        let refused = 0;
        for (const o of outcomes) {
          if (o.status === "refused") refused++;
          else if (o.duplicate) duplicates++;
          else stored++;
        }
        const answer: ReadsAnswer & z.infer<typeof ReadsResponse> = {
          stored,
          duplicates,
          refused,
          results: outcomes.map((o) => ({
            index: o.index,
            deviceId: deviceOf[o.index]!,
            status: o.status,
            duplicate: o.duplicate,
            readId: o.readId,
            endtimestamp: isoOf(reads[o.index]!.endMs),
            value: body.reads[o.index]!.value,
            energyWh: o.energyWh,
            warnings: o.warnings,
            reasons: o.reasons,
          })),
        };
        // fastify sends a Buffer as it is; its types name only the schema's shape for a 200
        const bytes = answerJson(answer) as unknown as typeof answer;
        return reply.type("application/json; charset=utf-8").send(bytes);
      },
    );
  };
}
