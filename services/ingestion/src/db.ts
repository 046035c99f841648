import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { PrismaClient } from "./generated/prisma/client.ts";

/**
 * The service's one database client: Prisma (through the pg driver adapter: no Rust engine) over one pg
 * pool, which is also reachable as `pool` for the telemetry store's bulk statements (see sqlTransaction).
 */
export type Db = PrismaClient & { readonly pool: pg.Pool };

export function createDb(url: string): Db {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle connection the server ended (restart, failover, a dropped test database) is discarded by the
  // pool and the next query opens another; without a listener its error would end the process.
  pool.on("error", () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return Object.assign(prisma, { pool });
}

/** Ends the Prisma client and the pool under it. */
export async function closeDb(db: Db): Promise<void> {
  await db.$disconnect();
  await db.pool.end();
}

/** What a raw-SQL transaction offers (the same calls as a Prisma transaction client's raw ones). */
export interface SqlTx {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  /** `COPY … FROM STDIN` of `data` (the rows in the statement's format); the number of rows copied. */
  copyFrom(statement: string, data: string): Promise<number>;
}

/**
 * Runs `fn` in a transaction on a connection of the pool, with plain pg: for the hot path of the
 * telemetry store, where Prisma's per-statement work cost more CPU than the statements (measured in
 * bench/throughput.ts). Everything else uses Prisma.
 */
export async function sqlTransaction<T>(db: Db, fn: (tx: SqlTx) => Promise<T>): Promise<T> {
  const client = await db.pool.connect();
  const tx: SqlTx = {
    async $queryRawUnsafe<R>(query: string, ...values: unknown[]) {
      return (await client.query(query, values)).rows as R;
    },
    async $executeRawUnsafe(query: string, ...values: unknown[]) {
      return (await client.query(query, values)).rowCount ?? 0;
    },
    async copyFrom(statement: string, data: string) {
      const stream = client.query(copyFrom(statement));
      await pipeline(Readable.from([data]), stream);
      return stream.rowCount;
    },
  };
  try {
    await client.query("BEGIN");
    const result = await fn(tx);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
