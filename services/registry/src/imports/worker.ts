import { randomBytes } from "node:crypto";
import { DeviceTypeSchema } from "@energy/contracts";
import { Wakeup } from "@energy/service-kit";
import { z } from "zod";
import type { Db } from "../db.ts";
import { applyChunk, JobMoved } from "./apply-chunk.ts";
import { CsvError, type CsvRecord, csvRows, readHeader } from "./csv.ts";
import { type ImportReportMailer, mailImportReport } from "./report-mail.ts";
import { checkHeader } from "./rows.ts";

/** What an upload asked for, stored as the job's options. */
export const ImportOptionsSchema = z.object({
  siteId: z.string(),
  deviceType: DeviceTypeSchema,
  /** where the report goes when the job is done (the uploader is an identity without an email) */
  notify: z.string().nullable().default(null),
});
export type ImportOptions = z.infer<typeof ImportOptionsSchema>;

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
/** A new import job id, `imp-…` (60 random bits, like the registry's other ids). */
export function newImportJobId(): string {
  let out = "";
  for (const b of randomBytes(12)) out += ALPHABET[b & 31];
  return `imp-${out}`;
}

export interface Log {
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

/** The file is not a CSV the import can read: the job fails at once (trying again would fail the same way). */
class UnreadableFile extends Error {}

/**
 * The bulk import worker's job loop: takes queued and running jobs oldest first (a job left running by a
 * stopped or killed process resumes from doneRows). A job's file is read as a stream (csv-parse): first
 * counted, so a syntax error anywhere fails the job before any row is imported, then applied one chunk of
 * rows per transaction (apply-chunk.ts). The report is mailed when the job is done (report-mail.ts).
 */
export function createImportWorker(opts: ImportWorkerOptions): ImportWorker {
  const { db } = opts;
  let log: Log = { info() {}, error() {} };
  const chunkSize = opts.chunkSize ?? 2500;
  const pollIntervalMs = opts.pollIntervalMs ?? 2000;
  const maxAttempts = opts.maxAttempts ?? 5;
  let running = false;
  let loop: Promise<void> | null = null;
  const wakeup = new Wakeup();
  const failures = new Map<string, number>();

  const sleep = (ms: number) => wakeup.sleep(ms);
  const wake = () => wakeup.nudge();

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
      select: { id: true },
    });
    if (!job) return false;
    try {
      await processJob(job.id);
      failures.delete(job.id);
    } catch (error) {
      if (error instanceof UnreadableFile) {
        await fail(job.id, error.message);
        return true;
      }
      const attempts = (failures.get(job.id) ?? 0) + 1;
      failures.set(job.id, attempts);
      log.error({ err: error, jobId: job.id, attempts }, "import job failed; retrying");
      if (attempts >= maxAttempts) {
        await fail(job.id, (error as Error).message);
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
        if (!(error instanceof JobMoved)) throw error;
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
    const { delimiter, header: columns } = await readFile(() => readHeader(job.content as string));
    const header = checkHeader(columns);
    if (header.missing.length > 0) throw new UnreadableFile(`missing columns: ${header.missing.join(", ")}`);
    if (job.totalRows === null) {
      const totalRows = await readFile(() => countRows(job.content as string, delimiter));
      await db.importJob.updateMany({ where: { id: jobId, totalRows: null }, data: { totalRows } });
    }

    // externalIds already imported by this job (a row repeating one is refused, also across a restart)
    const seen = new Map<string, number>();
    const earlier = await db.importRow.findMany({
      where: { jobId, outcome: { not: "refused" }, externalId: { not: null } },
      select: { externalId: true, line: true },
    });
    for (const row of earlier) if (row.externalId) seen.set(row.externalId, row.line);

    let done = job.doneRows;
    const applyRecords = async (records: CsvRecord[]) => {
      done = await applyChunk(db, {
        jobId,
        orgId: job.orgId,
        uploadedBy: job.uploadedBy,
        options,
        records,
        index: header.index,
        expected: done,
        seen,
      });
      opts.published();
    };
    let skip = job.doneRows;
    let chunk: CsvRecord[] = [];
    for await (const record of csvRows(job.content, delimiter)) {
      if (!running) return;
      if (skip > 0) {
        skip--;
        continue;
      }
      chunk.push(record);
      if (chunk.length === chunkSize) {
        await applyRecords(chunk);
        chunk = [];
      }
    }
    if (!running) return;
    if (chunk.length > 0) await applyRecords(chunk);
    await finish(jobId, options);
  }

  async function finish(jobId: string, options: ImportOptions) {
    const job = await db.importJob.update({
      where: { id: jobId },
      data: { status: "done", content: null, finishedAt: new Date() },
      omit: { content: true },
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
    if (options.notify) await mailImportReport({ db, mailer: opts.mailer, log }, jobId, options.notify);
  }

  async function fail(jobId: string, error: string) {
    const job = await db.importJob.update({
      where: { id: jobId },
      data: { status: "failed", error, content: null, finishedAt: new Date() },
      select: { options: true },
    });
    log.error({ jobId, error }, "import job failed");
    const notify = ImportOptionsSchema.safeParse(job.options).data?.notify;
    if (notify) await mailImportReport({ db, mailer: opts.mailer, log }, jobId, notify);
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

/** What `read` returns; a CSV syntax error is the file's fault, not a reason to try again. */
async function readFile<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof CsvError) throw new UnreadableFile(error.message);
    throw error;
  }
}

/** The rows after the header, read as a stream to the end (a syntax error anywhere throws). */
async function countRows(content: string, delimiter: Parameters<typeof csvRows>[1]): Promise<number> {
  let rows = 0;
  for await (const _ of csvRows(content, delimiter)) rows++;
  return rows;
}
