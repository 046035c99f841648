import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { postgresUrl } from "./env.ts";

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

function hashMigrations(dir: string): string {
  const hash = createHash("sha256");
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else hash.update(entry).update(readFileSync(p));
    }
  };
  walk(dir);
  return hash.digest("hex").slice(0, 12);
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at TEST_POSTGRES_URL: ${(error as Error).message}`);
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * A fresh database with a package's Prisma migrations applied, for one test file.
 * `prismaDir` holds prisma.config.ts (or is given a schema) and prisma/migrations: the migrations run
 * once per run into a template database (`prisma migrate deploy`), and each test database is a copy of it.
 */
export async function createTestDatabase(opts: {
  /** the folder `prisma migrate deploy` runs in (a service folder) */
  cwd: string;
  /** the migrations folder, default <cwd>/prisma/migrations */
  migrations?: string;
  /** extra arguments for prisma, e.g. ["--schema", "test/prisma/schema.prisma"] */
  prismaArgs?: string[];
}): Promise<TestDatabase> {
  const migrations = opts.migrations ?? join(opts.cwd, "prisma", "migrations");
  const template = `tmpl_${hashMigrations(migrations)}`;
  const serverUrl = postgresUrl();
  await admin(async (client) => {
    // One worker builds the template; the others wait on the lock and find it there.
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [template]);
    try {
      const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [template]);
      if (rowCount) return;
      const building = `${template}_build`;
      await client.query(`DROP DATABASE IF EXISTS ${quote(building)}`);
      await client.query(`CREATE DATABASE ${quote(building)}`);
      try {
        execFileSync(
          join(opts.cwd, "node_modules", ".bin", "prisma"),
          ["migrate", "deploy", ...(opts.prismaArgs ?? [])],
          {
            cwd: opts.cwd,
            env: { ...process.env, DATABASE_URL: withDatabase(serverUrl, building) },
            stdio: ["ignore", "pipe", "pipe"],
          },
        );
      } catch (error) {
        const e = error as { stdout?: Buffer; stderr?: Buffer };
        await client.query(`DROP DATABASE IF EXISTS ${quote(building)}`);
        throw new Error(`prisma migrate deploy failed in ${opts.cwd}:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
      }
      await client.query(`ALTER DATABASE ${quote(building)} RENAME TO ${quote(template)}`);
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [template]);
    }
  });
  const name = `test_${randomBytes(6).toString("hex")}`;
  await admin((client) => client.query(`CREATE DATABASE ${quote(name)} TEMPLATE ${quote(template)}`));
  return {
    name,
    url: withDatabase(serverUrl, name),
    drop: () =>
      admin((client) => client.query(`DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`)).then(() => {}),
  };
}
