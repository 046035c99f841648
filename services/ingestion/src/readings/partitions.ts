import type { Db } from "../db.ts";
import type { Prisma } from "../generated/prisma/client.ts";

type Tx = Prisma.TransactionClient;

const DAY_MS = 24 * 60 * 60 * 1000;
/** Advisory lock key: one instance at a time looks after the partitions (the outbox relay uses 7_242_001). */
const PARTITIONS_LOCK_KEY = 7_242_101;
/** How long a step waits for a table lock before it gives up until the next run (never queue behind a long query). */
const LOCK_TIMEOUT = "5s";
/** Rows deleted per statement when pruning, so no transaction grows without bound. */
const PRUNE_BATCH = 10_000;
const PARTITION_NAME = /^reading_p(\d{4})(\d{2})(\d{2})$/;

export interface PartitionOptions {
  now: Date;
  /** Raw readings (and refused ones) older than this many whole UTC days before today are removed. */
  retentionDays: number;
  /** Day partitions are made up to this many days after today (default 2). */
  daysAhead?: number;
}

export interface PartitionReport {
  /** true when another instance held the lock: this run stopped where it was. */
  skipped: boolean;
  created: string[];
  /** Rows moved out of reading_default into the partitions made. */
  movedRows: number;
  dropped: string[];
  /** Rows of reading_default older than the retention, deleted. */
  prunedDefaultRows: number;
  /** Refused readings older than the retention, deleted. */
  prunedRejected: number;
}

/** reading_pYYYYMMDD for the UTC day that starts at `dayStart` (ms). */
export const partitionName = (dayStart: number): string =>
  `reading_p${new Date(dayStart).toISOString().slice(0, 10).replaceAll("-", "")}`;

/** The start (ms) of the UTC day a partition name stands for, or null for a table that is not a day partition. */
export function partitionDay(name: string): number | null {
  const match = PARTITION_NAME.exec(name);
  if (!match) return null;
  const day = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return partitionName(day) === name ? day : null;
}

const startOfUtcDay = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

class LockBusy extends Error {}

/**
 * Looks after the raw reading table: makes sure a partition exists for every UTC day from yesterday to
 * today + daysAhead (moving any rows of that day the default partition already holds into it), drops day
 * partitions older than the retention, and deletes the default partition's and rejected_reading's rows
 * older than the retention. Every step is a short transaction under a transaction-scoped advisory lock:
 * a second instance finds the lock taken and leaves the run to the first. Safe to run again at any time.
 */
export async function maintainPartitions(db: Db, opts: PartitionOptions): Promise<PartitionReport> {
  const report: PartitionReport = {
    skipped: false,
    created: [],
    movedRows: 0,
    dropped: [],
    prunedDefaultRows: 0,
    prunedRejected: 0,
  };
  const today = startOfUtcDay(opts.now.getTime());
  const cutoff = today - opts.retentionDays * DAY_MS;
  try {
    const existing = await locked(db, (tx) => listPartitions(tx));
    for (let day = today - DAY_MS; day <= today + (opts.daysAhead ?? 2) * DAY_MS; day += DAY_MS) {
      if (existing.has(partitionName(day))) continue;
      const made = await locked(db, (tx) => createDayPartition(tx, day));
      if (made) {
        report.created.push(made.name);
        report.movedRows += made.moved;
      }
    }
    for (const name of existing) {
      const day = partitionDay(name);
      if (day === null || day >= cutoff) continue;
      await locked(db, (tx) => tx.$executeRawUnsafe(`DROP TABLE IF EXISTS "${name}"`));
      report.dropped.push(name);
    }
    report.prunedDefaultRows = await pruneInBatches(
      db,
      `DELETE FROM reading_default WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM reading_default WHERE reading_at < $1 LIMIT ${PRUNE_BATCH}))`,
      new Date(cutoff),
    );
    report.prunedRejected = await pruneInBatches(
      db,
      `DELETE FROM rejected_reading WHERE id IN (
         SELECT id FROM rejected_reading WHERE received_at < $1 ORDER BY received_at LIMIT ${PRUNE_BATCH})`,
      new Date(cutoff),
    );
  } catch (error) {
    if (!(error instanceof LockBusy)) throw error;
    report.skipped = true;
  }
  return report;
}

/** Runs `fn` in a transaction holding the partition lock; LockBusy when another instance holds it. */
async function locked<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.$transaction(
    async (tx) => {
      const [row] = await tx.$queryRawUnsafe<Array<{ locked: boolean }>>(
        "SELECT pg_try_advisory_xact_lock($1::bigint) AS locked",
        PARTITIONS_LOCK_KEY,
      );
      if (!row?.locked) throw new LockBusy("another instance is maintaining the reading partitions");
      await tx.$executeRawUnsafe(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
      return fn(tx);
    },
    { timeout: 120_000, maxWait: 30_000 },
  );
}

async function listPartitions(tx: Tx): Promise<Set<string>> {
  const rows = await tx.$queryRawUnsafe<Array<{ name: string }>>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'reading'::regclass`,
  );
  return new Set(rows.map((row) => row.name));
}

/**
 * Makes the partition of one UTC day. PostgreSQL refuses a new partition while the default partition
 * holds rows of its range, so the table is made detached, the day's rows are moved into it out of the
 * default, and then it is attached, all in one transaction. Writes to the reading table wait meanwhile
 * (reads go on), so no row of the day lands in the default in between. A CHECK constraint equal to the
 * range spares the scan of the new table on ATTACH; it is dropped afterwards. Returns null when the
 * partition exists already.
 */
async function createDayPartition(tx: Tx, day: number): Promise<{ name: string; moved: number } | null> {
  const name = partitionName(day);
  if ((await listPartitions(tx)).has(name)) return null;
  const from = new Date(day).toISOString();
  const to = new Date(day + DAY_MS).toISOString();
  // Writers wait while the day's partition is made: one that had already picked the default partition
  // for a row of the day would otherwise fail its insert once the partition is attached.
  await tx.$executeRawUnsafe("LOCK TABLE ONLY reading IN SHARE MODE");
  await tx.$executeRawUnsafe("LOCK TABLE reading_default IN ACCESS EXCLUSIVE MODE");
  await tx.$executeRawUnsafe(`CREATE TABLE "${name}" (LIKE reading INCLUDING ALL)`);
  await tx.$executeRawUnsafe(
    `ALTER TABLE "${name}" ADD CONSTRAINT "${name}_range" CHECK (reading_at >= '${from}' AND reading_at < '${to}')`,
  );
  const moved = await tx.$executeRawUnsafe(
    `WITH moved AS (
       DELETE FROM reading_default WHERE reading_at >= $1 AND reading_at < $2
       RETURNING der_id, reading_at, received_at, device_id, gateway_id, reading)
     INSERT INTO "${name}" (der_id, reading_at, received_at, device_id, gateway_id, reading)
     SELECT der_id, reading_at, received_at, device_id, gateway_id, reading FROM moved`,
    new Date(from),
    new Date(to),
  );
  await tx.$executeRawUnsafe(
    `ALTER TABLE reading ATTACH PARTITION "${name}" FOR VALUES FROM ('${from}') TO ('${to}')`,
  );
  await tx.$executeRawUnsafe(`ALTER TABLE "${name}" DROP CONSTRAINT "${name}_range"`);
  return { name, moved };
}

/** Repeats a batched DELETE (one transaction each) until it deletes less than a batch; returns the rows deleted. */
async function pruneInBatches(db: Db, sql: string, cutoff: Date): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await locked(db, (tx) => tx.$executeRawUnsafe(sql, cutoff));
    total += deleted;
    if (deleted < PRUNE_BATCH) return total;
  }
}
