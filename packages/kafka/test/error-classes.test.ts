import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyError } from "../src/index.ts";
import type { PrismaClient } from "./generated/prisma/client.ts";
import { packageDir, prismaFor } from "./helpers.ts";

/** How a handler's failure is sorted, for errors the real PostgreSQL raises through Prisma. */
describe("classifyError on real database errors", () => {
  let database: TestDatabase;
  let db: PrismaClient;
  beforeAll(async () => {
    database = await createTestDatabase({
      cwd: packageDir,
      migrations: join(packageDir, "test/prisma/migrations"),
    });
    db = prismaFor(database.url);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  const failure = (work: () => Promise<unknown>) =>
    work().then(
      () => {
        throw new Error("expected the statement to fail");
      },
      (error: unknown) => error,
    );

  it.each([
    ["a NUL in text (22021)", () => db.$queryRawUnsafe("SELECT $1::text AS t", "a\u0000b")],
    [
      "bytes that are not UTF-8 (22021)",
      () => db.$queryRawUnsafe("SELECT convert_from('\\xff'::bytea, 'UTF8')"),
    ],
    ["a number out of range (22003)", () => db.$queryRawUnsafe("SELECT 2147483648::int4")],
    ["text that is not a number (22P02)", () => db.$queryRawUnsafe("SELECT 'x'::int")],
  ])(
    "%s is fatal: the message's data can never be stored, so it goes to the DLQ at once",
    async (_, work) => {
      expect(classifyError(await failure(work))).toBe("fatal");
    },
  );

  it("a deadlock or serialization failure stays transient", async () => {
    const error = await failure(() =>
      db.$queryRawUnsafe("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$"),
    );
    expect(classifyError(error)).toBe("transient");
  });
});
