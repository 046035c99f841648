import { type DeviceType, topics } from "@energy/contracts";
import { enqueueEvents, event, type OutgoingEvent } from "@energy/kafka";
import type { Db } from "../db.ts";
import { devicePayload } from "../devices/views.ts";
import { deviceLogChanges } from "../domain/device-log.ts";
import { utcToday } from "../domain/device-rules.ts";
import { newId } from "../domain/ids.ts";
import type { Device, Prisma } from "../generated/prisma/client.ts";
import type { CsvRecord } from "./csv.ts";
import { type ImportColumn, mapRow, type RowDevice } from "./rows.ts";

/** What an upload asked for (the job's options): the site and device type of the devices it creates. */
export interface ChunkOptions {
  siteId: string;
  deviceType: DeviceType;
}

export type ImportOutcome = "created" | "updated" | "unchanged" | "refused";

/** The job is no longer where this chunk expected it (stopped, or another worker went further). */
export class JobMoved extends Error {}

export interface Chunk {
  jobId: string;
  orgId: string;
  uploadedBy: string;
  options: ChunkOptions;
  /** the chunk's records, in file order */
  records: readonly CsvRecord[];
  /** where each column is in a record */
  index: Record<ImportColumn, number>;
  /** the job's doneRows this chunk follows (checked under the job's lock) */
  expected: number;
  /** externalIds already imported by the job, with their line; the chunk's own are added when it commits */
  seen: Map<string, number>;
}

const isoDate = (date: Date | null) => (date ? date.toISOString().slice(0, 10) : null);
const toDate = (date: string | null) => (date === null ? null : new Date(`${date}T00:00:00.000Z`));

/** Fields a CSV row sets, compared with the stored device to tell updated from unchanged. */
const COMPARED = [
  "make",
  "address",
  "latitude",
  "longitude",
  "countryCode",
  "postalCode",
  "fuelCode",
  "deviceTypeCode",
  "capacity",
  "gridInterconnection",
  "energyStorage",
  "energyStorageCapacity",
  "offTaker",
  "qualityLabels",
  "sdgBenefits",
  "impactStory",
] as const satisfies readonly (keyof RowDevice & keyof Device)[];

/** The columns of `row` that differ from `device` (empty when the row changes nothing). */
export function changedColumns(device: Device, row: RowDevice): Prisma.DeviceUncheckedUpdateInput {
  const data: Record<string, unknown> = {};
  for (const key of COMPARED) if (device[key] !== row[key]) data[key] = row[key];
  if (isoDate(device.commissioningDate) !== row.commissioningDate) {
    data.commissioningDate = toDate(row.commissioningDate);
  }
  if (device.images.length !== row.images.length || device.images.some((img, i) => img !== row.images[i])) {
    data.images = row.images;
  }
  return data as Prisma.DeviceUncheckedUpdateInput;
}

/**
 * One chunk of an import, in one transaction: its devices created or updated, their events, their log
 * entries, the rows' outcomes and the job's progress commit together, so a crash loses at most the chunk
 * under way and never doubles one. Returns the job's doneRows after it.
 */
export async function applyChunk(db: Db, chunk: Chunk): Promise<number> {
  const { jobId, orgId, uploadedBy, options, records, index, expected, seen } = chunk;
  const today = utcToday();
  const chunkSeen = new Map<string, number>();
  const next = await db.$transaction(
    async (tx) => {
      const [locked] = await tx.$queryRaw<{ done_rows: number; status: string }[]>`
        SELECT done_rows, status FROM import_job WHERE id = ${jobId} FOR UPDATE`;
      if (locked?.status !== "running") throw new JobMoved();
      // another worker got further meanwhile: start over from what is committed
      if (locked?.done_rows !== expected) throw new JobMoved();
      const outcomes: ImportRowInput[] = [];
      const valid: { line: number; device: RowDevice }[] = [];
      for (const record of records) {
        const mapped = mapRow(record, index, { orgId, today });
        if (!mapped.ok) {
          outcomes.push({
            jobId,
            line: mapped.line,
            externalId: mapped.externalId,
            outcome: "refused",
            reason: mapped.reason,
          });
          continue;
        }
        const id = mapped.device.externalId;
        const first = seen.get(id) ?? chunkSeen.get(id);
        if (first !== undefined) {
          outcomes.push({
            jobId,
            line: mapped.line,
            externalId: id,
            outcome: "refused",
            reason: `externalId: ${id} already appears on line ${first} of this file`,
          });
          continue;
        }
        chunkSeen.set(id, mapped.line);
        valid.push(mapped);
      }

      const existing = new Map<string, Device>();
      if (valid.length > 0) {
        // most rows of an upload are new devices: find which keys exist with one array parameter, then load those
        const keys = await tx.$queryRawUnsafe<{ external_id: string }[]>(
          "SELECT external_id FROM device WHERE org_id = $1 AND external_id = ANY($2::text[])",
          orgId,
          valid.map((row) => row.device.externalId),
        );
        const found =
          keys.length === 0
            ? []
            : await tx.device.findMany({
                where: { orgId, externalId: { in: keys.map((key) => key.external_id) } },
              });
        for (const device of found) if (device.externalId) existing.set(device.externalId, device);
      }
      const creates: Device[] = [];
      const now = new Date();
      const createdLines = new Map<string, number>();
      const events: OutgoingEvent[] = [];
      const logs: Prisma.DeviceLogCreateManyInput[] = [];
      const envelope = { correlationId: jobId };
      let updated = 0;
      for (const { line, device: row } of valid) {
        const device = existing.get(row.externalId);
        if (!device) {
          creates.push(newDevice(orgId, options, row, now));
          createdLines.set(row.externalId, line);
          continue;
        }
        const data = changedColumns(device, row);
        updated++;
        if (Object.keys(data).length === 0) {
          outcomes.push({
            jobId,
            line,
            externalId: row.externalId,
            outcome: "unchanged",
            deviceId: device.id,
          });
          continue;
        }
        const after = await tx.device.update({ where: { id: device.id }, data });
        for (const change of deviceLogChanges(device, after))
          logs.push({ ...change, deviceId: device.id, changedBy: uploadedBy });
        events.push(event(topics.registryDevice, "device.updated", devicePayload(after), envelope));
        outcomes.push({ jobId, line, externalId: row.externalId, outcome: "updated", deviceId: device.id });
      }
      if (creates.length > 0) {
        await insertDevices(tx, creates);
        for (const device of creates) {
          events.push(event(topics.registryDevice, "device.registered", devicePayload(device), envelope));
          outcomes.push({
            jobId,
            line: createdLines.get(device.externalId ?? "") ?? 0,
            externalId: device.externalId,
            outcome: "created",
            deviceId: device.id,
          });
        }
      }
      if (logs.length > 0) await tx.deviceLog.createMany({ data: logs });
      await enqueueEvents(tx, events);
      await insertImportRows(tx, outcomes);
      // updateMany: update would read back the whole job, its content (the file) included
      await tx.importJob.updateMany({
        where: { id: jobId },
        data: {
          doneRows: expected + records.length,
          createdRows: { increment: creates.length },
          updatedRows: { increment: updated },
          refusedRows: { increment: records.length - valid.length },
        },
      });
      return expected + records.length;
    },
    { timeout: 120_000, maxWait: 30_000 },
  );
  for (const [id, line] of chunkSeen) seen.set(id, line);
  return next;
}

/** A new device of a CSV row, as the row insertDevices writes (state and unset columns as their defaults). */
function newDevice(orgId: string, options: ChunkOptions, row: RowDevice, now: Date): Device {
  const { commissioningDate, ...fields } = row;
  return {
    ...fields,
    id: newId("dev"),
    orgId,
    siteId: options.siteId,
    type: options.deviceType satisfies DeviceType,
    state: "pending",
    name: row.externalId,
    model: null,
    commIdentityId: null,
    yieldValue: null,
    integrator: null,
    description: null,
    commissioningDate: toDate(commissioningDate),
    createdAt: now,
    updatedAt: now,
  };
}

/** New devices with one INSERT (one array parameter per column), inside the caller's transaction. */
async function insertDevices(tx: Prisma.TransactionClient, devices: readonly Device[]): Promise<void> {
  if (devices.length === 0) return;
  const col = <T>(pick: (device: Device) => T) => devices.map(pick);
  await tx.$executeRawUnsafe(
    `INSERT INTO device (id, org_id, site_id, type, state, name, external_id, make, address, latitude, longitude,
       country_code, postal_code, fuel_code, device_type_code, capacity, commissioning_date, grid_interconnection,
       energy_storage, energy_storage_capacity, off_taker, quality_labels, sdg_benefits, impact_story, images,
       created_at, updated_at)
     SELECT t.id, t.org_id, t.site_id, t.type, t.state, t.name, t.external_id, t.make, t.address, t.latitude,
       t.longitude, t.country_code, t.postal_code, t.fuel_code, t.device_type_code, t.capacity,
       t.commissioning_date, t.grid_interconnection, t.energy_storage, t.energy_storage_capacity, t.off_taker,
       t.quality_labels, t.sdg_benefits, t.impact_story,
       ARRAY(SELECT e.value FROM jsonb_array_elements_text(t.images) WITH ORDINALITY AS e(value, n) ORDER BY e.n),
       t.created_at, t.updated_at
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                 $9::text[], $10::float8[], $11::float8[], $12::text[], $13::text[], $14::text[], $15::text[],
                 $16::float8[], $17::date[], $18::boolean[], $19::boolean[], $20::float8[], $21::text[],
                 $22::text[], $23::int[], $24::text[], $25::jsonb[], $26::timestamptz[], $27::timestamptz[])
       AS t(id, org_id, site_id, type, state, name, external_id, make, address, latitude, longitude, country_code,
            postal_code, fuel_code, device_type_code, capacity, commissioning_date, grid_interconnection,
            energy_storage, energy_storage_capacity, off_taker, quality_labels, sdg_benefits, impact_story, images,
            created_at, updated_at)`,
    col((d) => d.id),
    col((d) => d.orgId),
    col((d) => d.siteId),
    col((d) => d.type),
    col((d) => d.state),
    col((d) => d.name),
    col((d) => d.externalId),
    col((d) => d.make),
    col((d) => d.address),
    col((d) => d.latitude),
    col((d) => d.longitude),
    col((d) => d.countryCode),
    col((d) => d.postalCode),
    col((d) => d.fuelCode),
    col((d) => d.deviceTypeCode),
    col((d) => d.capacity),
    col((d) => isoDate(d.commissioningDate)),
    col((d) => d.gridInterconnection),
    col((d) => d.energyStorage),
    col((d) => d.energyStorageCapacity),
    col((d) => d.offTaker),
    col((d) => d.qualityLabels),
    col((d) => d.sdgBenefits),
    col((d) => d.impactStory),
    col((d) => JSON.stringify(d.images)),
    col((d) => d.createdAt.toISOString()),
    col((d) => d.updatedAt.toISOString()),
  );
}

interface ImportRowInput {
  jobId: string;
  line: number;
  externalId: string | null;
  outcome: ImportOutcome;
  reason?: string;
  deviceId?: string;
}

/** Row outcomes with one INSERT (a line already recorded is skipped), inside the caller's transaction. */
async function insertImportRows(
  tx: Prisma.TransactionClient,
  rows: readonly ImportRowInput[],
): Promise<void> {
  if (rows.length === 0) return;
  await tx.$executeRawUnsafe(
    `INSERT INTO import_row (job_id, line, external_id, outcome, reason, device_id)
     SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[])
     ON CONFLICT DO NOTHING`,
    rows.map((r) => r.jobId),
    rows.map((r) => r.line),
    rows.map((r) => r.externalId),
    rows.map((r) => r.outcome),
    rows.map((r) => r.reason ?? null),
    rows.map((r) => r.deviceId ?? null),
  );
}
