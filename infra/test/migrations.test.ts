import { ServiceNameSchema } from "@energy/contracts";
import { describe, expect, it } from "vitest";
import { isEmptyMigration, migrationDiff, servicesWithDatabase } from "../postgres/postgres.ts";

// A schema change without its migration would pass every test (they migrate from the same files) and
// break the first deployment: each service's migrations must rebuild exactly its schema.prisma.
describe("Prisma migrations", () => {
  // every service keeps its state (and its outbox) in its own database: an empty or short list would
  // let the table below pass without checking anything
  it("are checked for every service of the platform", () => {
    expect(servicesWithDatabase()).toEqual([...ServiceNameSchema.options].sort());
  });

  it.each(servicesWithDatabase())("of %s are in step with its schema.prisma", (service) => {
    const diff = migrationDiff(service, process.env.TEST_POSTGRES_URL!);
    expect(isEmptyMigration(diff), `run: node tools/new-migration.ts ${service} <name>\n${diff}`).toBe(true);
  });
});
