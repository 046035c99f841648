import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/prisma/client.ts";

/** The service's one database client: Prisma through the pg driver adapter (no Rust engine). */
export type Db = PrismaClient & { readonly pool: pg.Pool };

export function createDb(url: string, max = 10): Db {
  const pool = new pg.Pool({ connectionString: url, max });
  // An idle connection the server ended is discarded by the pool; without a listener it would end the process.
  pool.on("error", () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return Object.assign(prisma, { pool });
}

/** Ends the Prisma client and the pool under it. */
export async function closeDb(db: Db): Promise<void> {
  await db.$disconnect();
  await db.pool.end();
}
