import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, createTestKafka, type TestDatabase, type TestKafka } from "@energy/testing";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client.ts";

export const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");

export function prismaFor(url: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
}

/** A fresh migrated database (outbox, processed_message, applied_effect) and a topic prefix for one test file. */
export async function setupRealComponents(): Promise<{ db: TestDatabase; kafka: TestKafka }> {
  const [db, kafka] = await Promise.all([
    createTestDatabase({ cwd: packageDir, migrations: join(packageDir, "test/prisma/migrations") }),
    createTestKafka({ topics: ["registry.organization.v1"] }),
  ]);
  return { db, kafka };
}

export function organization(n: number) {
  return { orgId: `org-${n}`, name: `Org ${n}`, kind: "developer" as const, ownerIdentityId: `usr-${n}` };
}
