/**
 * Writes a service's next Prisma migration from its schema.prisma, offline:
 *
 *   node tools/new-migration.ts <service> <name>      e.g. node tools/new-migration.ts registry add_sites
 *
 * It runs `prisma migrate diff --from-migrations prisma/migrations --to-schema-datamodel prisma/schema.prisma`
 * (the existing migrations are replayed into a throw-away shadow database on the PostgreSQL server of
 * DATABASE_URL or POSTGRES_URL, see infra/postgres/prisma-config.ts) and saves the SQL as
 * prisma/migrations/<UTC timestamp>_<name>/migration.sql. Review it, then commit it with the schema change.
 * (`prisma migrate dev` creates the same file but fails at its end on this Prisma version's Wasm engine.)
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const [service, name] = process.argv.slice(2);
if (!service || !name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: node tools/new-migration.ts <service> <name_in_snake_case>");
  process.exit(2);
}
const dir = join(root, "services", service);
if (!existsSync(join(dir, "prisma", "schema.prisma"))) {
  console.error(`services/${service} has no prisma/schema.prisma`);
  process.exit(2);
}
const sql = execFileSync(
  join(dir, "node_modules", ".bin", "prisma"),
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
    cwd: dir,
    encoding: "utf8",
    env: {
      ...process.env,
      DATABASE_URL:
        process.env.DATABASE_URL ??
        process.env.POSTGRES_URL ??
        "postgresql://postgres@127.0.0.1:5432/postgres",
    },
    stdio: ["ignore", "pipe", "inherit"],
  },
);
if (!sql.trim() || sql.includes("This is an empty migration")) {
  console.log(`services/${service}: the schema matches the migrations; nothing to write`);
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
const target = join(dir, "prisma", "migrations", `${stamp}_${name}`);
mkdirSync(target, { recursive: true });
writeFileSync(join(target, "migration.sql"), sql);
console.log(`wrote services/${service}/prisma/migrations/${stamp}_${name}/migration.sql:\n\n${sql}`);
