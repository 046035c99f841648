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
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  DEFAULT_POSTGRES_URL,
  isEmptyMigration,
  migrationDiff,
  repoRoot,
  servicesWithDatabase,
} from "../infra/postgres/postgres.ts";

const [service, name] = process.argv.slice(2);
if (!service || !name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: node tools/new-migration.ts <service> <name_in_snake_case>");
  process.exit(2);
}
if (!servicesWithDatabase().includes(service)) {
  console.error(`services/${service} has no prisma/schema.prisma`);
  process.exit(2);
}
const sql = migrationDiff(
  service,
  process.env.DATABASE_URL ?? process.env.POSTGRES_URL ?? DEFAULT_POSTGRES_URL,
);
if (isEmptyMigration(sql)) {
  console.log(`services/${service}: the schema matches the migrations; nothing to write`);
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
const folder = `services/${service}/prisma/migrations/${stamp}_${name}`;
mkdirSync(join(repoRoot, folder), { recursive: true });
writeFileSync(join(repoRoot, folder, "migration.sql"), sql);
console.log(`wrote ${folder}/migration.sql:\n\n${sql}`);
