/**
 * One database per service on a PostgreSQL server, migrated offline with `prisma migrate deploy`.
 *
 *   node infra/postgres/postgres.ts [--url postgresql://postgres@127.0.0.1:5432/postgres]
 *
 * The URL names the server (any database on it that we may connect to); each service gets
 * `energy_<service>` (dashes become underscores) on that server.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../..");

export const DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres";

/** Services that own a database: every services/<name> with a prisma/schema.prisma. */
export function servicesWithDatabase(): string[] {
  const dir = join(repoRoot, "services");
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, "prisma", "schema.prisma")))
    .sort();
}

export function databaseName(service: string): string {
  return `energy_${service.replaceAll("-", "_")}`;
}

/** The URL of `database` on the server that `serverUrl` points at. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Creates `database` unless it exists. Optionally as a copy of `template`. */
export async function createDatabase(
  serverUrl: string,
  database: string,
  template?: string,
): Promise<boolean> {
  const client = new pg.Client({ connectionString: serverUrl });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${redact(serverUrl)}: ${(error as Error).message}. ` +
        "Start it (e.g. pg_ctlcluster <version> main start) or set POSTGRES_URL.",
    );
  }
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (rowCount) return false;
    const ident = (s: string) => `"${s.replaceAll('"', '""')}"`;
    await client.query(`CREATE DATABASE ${ident(database)}${template ? ` TEMPLATE ${ident(template)}` : ""}`);
    return true;
  } finally {
    await client.end();
  }
}

export async function dropDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Applies a service's Prisma migrations to `url` (offline: Prisma's Wasm schema engine via the pg adapter). */
export function migrate(service: string, url: string): void {
  const cwd = join(repoRoot, "services", service);
  const prisma = join(cwd, "node_modules", ".bin", "prisma");
  try {
    execFileSync(prisma, ["migrate", "deploy"], {
      cwd,
      env: { ...process.env, DATABASE_URL: url },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(
      `prisma migrate deploy failed for ${service} on ${redact(url)}:\n${e.stdout ?? ""}${e.stderr ?? ""}`,
    );
  }
}

/**
 * The SQL that would bring a service's migrations up to its schema.prisma (Prisma's "-- This is an empty
 * migration." when they agree). The migrations are replayed into a throw-away shadow database on the
 * server of `serverUrl` (infra/postgres/prisma-config.ts).
 */
export function migrationDiff(service: string, serverUrl: string): string {
  const cwd = join(repoRoot, "services", service);
  return execFileSync(
    join(cwd, "node_modules", ".bin", "prisma"),
    [
      "migrate",
      "diff",
      "--from-migrations",
      "prisma/migrations",
      "--to-schema-datamodel",
      "prisma/schema.prisma",
      "--script",
    ],
    {
      cwd,
      encoding: "utf8",
      env: { ...process.env, DATABASE_URL: serverUrl },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
}

export const isEmptyMigration = (sql: string) => !sql.trim() || sql.includes("This is an empty migration");

/** Creates and migrates every service's database; returns service → database URL. */
export async function bootstrapDatabases(serverUrl = DEFAULT_POSTGRES_URL): Promise<Record<string, string>> {
  const urls: Record<string, string> = {};
  for (const service of servicesWithDatabase()) {
    const db = databaseName(service);
    await createDatabase(serverUrl, db);
    urls[service] = databaseUrl(serverUrl, db);
    migrate(service, urls[service]);
  }
  return urls;
}

/** A URL safe to print: the password, if any, is hidden. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<invalid url>";
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--url");
  const serverUrl = i >= 0 ? process.argv[i + 1]! : (process.env.POSTGRES_URL ?? DEFAULT_POSTGRES_URL);
  const urls = await bootstrapDatabases(serverUrl);
  for (const [service, url] of Object.entries(urls)) console.log(`${service}: ${redact(url)} (migrated)`);
}
