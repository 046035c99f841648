import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, servicesWithDatabase } from "../postgres/postgres.ts";

// A schema change without its migration would pass every test (they migrate from the same files) and
// break the first deployment: each service's migrations must rebuild exactly its schema.prisma.
describe("Prisma migrations", () => {
  it.each(servicesWithDatabase())("of %s are in step with its schema.prisma", (service) => {
    const dir = join(repoRoot, "services", service);
    const diff = execFileSync(
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
        env: { ...process.env, DATABASE_URL: process.env.TEST_POSTGRES_URL },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    expect(diff, `run: node tools/new-migration.ts ${service} <name>`).toMatch(/empty migration/);
  });
});
