import { randomBytes } from "node:crypto";
import { type DeviceType, DeviceTypeSchema, topics } from "@energy/contracts";
import { enqueueEvents, event, type OutgoingEvent } from "@energy/kafka";
import { z } from "zod";
import type { Db } from "../db.ts";
import { utcToday } from "../domain/device-rules.ts";
import { newId } from "../domain/ids.ts";
import type { Device, Prisma } from "../generated/prisma/client.ts";
import { devicePayload } from "../routes/devices.ts";
import { type CsvRecord, parseCsv } from "./csv.ts";
import type { ImportReportMailer } from "./report-mail.ts";
import { checkHeader, type ImportColumn, mapRow, type RowDevice } from "./rows.ts";

/** What an upload asked for, stored as the job's options. */
export const ImportOptionsSchema = z.object({
  siteId: z.string(),
  deviceType: DeviceTypeSchema,
  /** where the report goes when the job is done (the uploader is an identity without an email) */
  notify: z.string().nullable().default(null),
});
export type ImportOptions = z.infer<typeof ImportOptionsSchema>;

export type ImportOutcome = "created" | "updated" | "unchanged" | "refused";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
/** A new import job id, `imp-…` (60 random bits, like the registry's other ids). */
export function newImportJobId(): string {
  let out = "";
  for (const b of randomBytes(12)) out += ALPHABET[b & 31];
  return `imp-${out}`;
}

interface Log {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ImportWorkerOptions {
  db: Db;
  mailer: ImportReportMailer;
  /** wakes the outbox relay after a chunk recorded events */
  published: () => void;
  /** rows per transaction */
  chunkSize?: number;
  /** how long to sleep when there is nothing to do and nobody woke the worker */
  pollIntervalMs?: number;
  /** failures of one job in a row before it is marked failed */
  maxAttempts?: number;
}

export interface ImportWorker {
  /** starts the job loop, logging to `log` (the runtime's housekeeping of jobs: see service.ts) */
  start(log: Log): void;
  /** finishes the chunk under way, then stops */
  stop(): Promise<void>;
  /** a job was queued: look now */
  wake(): void;
}

const REPORT_REFUSALS = 50;

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

const isoDate = (date: Date | null) => (date ? date.toISOString().slice(0, 10) : null);
const toDate = (date: string | null) => (date === null ? null : new Date(`${date}T00:00:00.000Z`));

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

class Restart extends Error {}

/**
 * The bulk import worker: takes queued and running jobs (a job left running by a stopped or killed process
 * resumes from doneRows), one chunk of rows per transaction: the devices, their events, the row outcomes and
 * the job's progress commit together, so a crash loses at most the chunk under way and never doubles one.
 */
export function createImportWorker(opts: ImportWorkerOptions): ImportWorker {
  const { db } = opts;
  let log: Log = { info() {}, error() {} };
  const chunkSize = opts.chunkSize ?? 2500;
  const pollIntervalMs = opts.pollIntervalMs ?? 2000;
  const maxAttempts = opts.maxAttempts ?? 5;
  let running = false;
  let loop: Promise<void> | null = null;
  let wakeUp: (() => void) | null = null;
  let woken = false;
  const failures = new Map<string, number>();

  function sleep(ms: number) {
    if (woken) {
      woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = null;
        woken = false;
        resolve();
      }
      wakeUp = done;
    });
  }

  function wake() {
    woken = true;
    wakeUp?.();
  }

  async function run() {
    while (running) {
      let worked = false;
      try {
        worked = await runNextJob();
      } catch (error) {
        log.error({ err: error }, "import worker: unexpected error");
      }
      if (!worked && running) await sleep(pollIntervalMs);
    }
  }

  async function runNextJob(): Promise<boolean> {
    const job = await db.importJob.findFirst({
      where: { status: { in: ["queued", "running"] }, id: { notIn: [...exhausted()] } },
      orderBy: { createdAt: "asc" },
    });
    if (!job) return false;
    try {
      await processJob(job.id);
      failures.delete(job.id);
    } catch (error) {
      const attempts = (failures.get(job.id) ?? 0) + 1;
      failures.set(job.id, attempts);
      log.error({ err: error, jobId: job.id, attempts }, "import job failed; retrying");
      if (attempts >= maxAttempts) {
        await db.importJob.update({
          where: { id: job.id },
          data: { status: "failed", error: (error as Error).message, finishedAt: new Date() },
        });
        failures.delete(job.id);
      } else {
        await sleep(Math.min(30_000, 250 * 2 ** attempts));
      }
    }
    return true;
  }

  const exhausted = () => [...failures.entries()].filter(([, n]) => n >= maxAttempts).map(([id]) => id);

  async function processJob(jobId: string): Promise<void> {
    for (;;) {
      try {
        return await processJobOnce(jobId);
      } catch (error) {
        if (!(error instanceof Restart)) throw error;
      }
    }
  }

  async function processJobOnce(jobId: string): Promise<void> {
    await db.importJob.updateMany({
      where: { id: jobId, status: "queued" },
      data: { status: "running", startedAt: new Date() },
    });
    const job = await db.importJob.findUnique({ where: { id: jobId } });
    if (job?.status !== "running") return;
    const options = ImportOptionsSchema.parse(job.options);
    if (job.content === null) throw new Error("the job has no content left to import");
    const csv = parseCsv(job.content);
    const header = checkHeader(csv.header);
    if (header.missing.length > 0) throw new Error(`missing columns: ${header.missing.join(", ")}`);

    // externalIds already imported by this job (a row repeating one is refused, also across a restart)
    const seen = new Map<string, number>();
    const earlier = await db.importRow.findMany({
      where: { jobId, outcome: { not: "refused" }, externalId: { not: null } },
      select: { externalId: true, line: true },
    });
    for (const row of earlier) if (row.externalId) seen.set(row.externalId, row.line);

    let done = job.doneRows;
    while (done < csv.records.length) {
      if (!running) return;
      done = await processChunk(
        job.id,
        job.orgId,
        job.uploadedBy,
        options,
        csv.records,
        header.index,
        done,
        seen,
      );
      opts.published();
    }
    await finish(jobId, options);
  }

  async function processChunk(
    jobId: string,
    orgId: string,
    uploadedBy: string,
    options: ImportOptions,
    records: readonly CsvRecord[],
    index: Record<ImportColumn, number>,
    expected: number,
    seen: Map<string, number>,
  ): Promise<number> {
    const today = utcToday();
    const chunkSeen = new Map<string, number>();
    const next = await db.$transaction(
      async (tx) => {
        const [locked] = await tx.$queryRaw<{ done_rows: number; status: string }[]>`
          SELECT done_rows, status FROM import_job WHERE id = ${jobId} FOR UPDATE`;
        if (locked?.status !== "running") throw new Restart();
        // another worker got further meanwhile: start over from what is committed
        if (locked?.done_rows !== expected) throw new Restart();
        const slice = records.slice(expected, expected + chunkSize);

        const outcomes: ImportRowInput[] = [];
        const valid: { line: number; device: RowDevice }[] = [];
        for (const record of slice) {
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
          if (device.capacity !== after.capacity) {
            logs.push({
              deviceId: device.id,
              field: "capacity",
              oldValue: device.capacity === null ? null : String(device.capacity),
              newValue: after.capacity === null ? null : String(after.capacity),
              changedBy: uploadedBy,
            });
          }
          if (isoDate(device.commissioningDate) !== isoDate(after.commissioningDate)) {
            logs.push({
              deviceId: device.id,
              field: "commissioningDate",
              oldValue: isoDate(device.commissioningDate),
              newValue: isoDate(after.commissioningDate),
              changedBy: uploadedBy,
            });
          }
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
            doneRows: expected + slice.length,
            createdRows: { increment: creates.length },
            updatedRows: { increment: updated },
            refusedRows: { increment: slice.length - valid.length },
          },
        });
        return expected + slice.length;
      },
      { timeout: 120_000, maxWait: 30_000 },
    );
    for (const [id, line] of chunkSeen) seen.set(id, line);
    return next;
  }

  async function finish(jobId: string, options: ImportOptions) {
    const job = await db.importJob.update({
      where: { id: jobId },
      data: { status: "done", content: null, finishedAt: new Date() },
      include: { rows: { where: { outcome: "refused" }, orderBy: { line: "asc" }, take: REPORT_REFUSALS } },
    });
    log.info(
      {
        jobId,
        totalRows: job.totalRows,
        created: job.createdRows,
        updated: job.updatedRows,
        refused: job.refusedRows,
      },
      "import job done",
    );
    if (!options.notify) return;
    try {
      const org = await db.organization.findUnique({ where: { id: job.orgId }, select: { name: true } });
      await opts.mailer.sendImportReport({
        to: options.notify,
        organizationId: job.orgId,
        organizationName: org?.name ?? job.orgId,
        jobId,
        fileName: job.fileName,
        status: job.status,
        totalRows: job.totalRows,
        createdRows: job.createdRows,
        updatedRows: job.updatedRows,
        refusedRows: job.refusedRows,
        refused: job.rows.map((row) => ({ line: row.line, reason: row.reason })),
      });
    } catch (error) {
      // the import itself is done; the report is best effort (GET …/imports/:jobId has it all)
      log.error({ err: error, jobId }, "import report mail failed");
    }
  }

  return {
    start(logTo) {
      if (running) return;
      log = logTo;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wake();
      await loop;
      loop = null;
    },
    wake,
  };
}

/** A new device of a CSV row, as the row insertDevices writes (state and unset columns as their defaults). */
function newDevice(orgId: string, options: ImportOptions, row: RowDevice, now: Date): Device {
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
