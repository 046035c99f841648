import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/prisma/client.ts";

/**
 * The service's one database client: Prisma (through the pg driver adapter: no Rust engine) over one pg
 * pool (`pool`, ended with the client by closeDb).
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
