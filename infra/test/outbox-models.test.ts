import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The outbox and processed-message models are defined once, in packages/kafka/README.md (what the relay and
// the consumer runners read and write), and every service's schema.prisma carries them exactly: a service
// whose model drifted (a column missing, renamed or typed differently) would publish nothing or fail at
// run time, so the drift fails here first.

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const MODELS = ["OutboxMessage", "ProcessedMessage"];

/**
 * The model blocks of a Prisma schema by name, whitespace-normalised (alignment is formatting), without
 * doc comments. The payload column may be json or text instead of jsonb (`Json @db.Json`, `String`: the
 * text kept as written, the relay sends any of them, see packages/kafka/README.md), so all read as the
 * definition's `Json`.
 */
function models(schema: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of schema.matchAll(/^model (\w+) \{\n([\s\S]*?)^\}/gm)) {
    const body = match[2]!
      .split("\n")
      .map((line) => line.trim().replace(/\s+/g, " "))
      .filter((line) => line !== "" && !line.startsWith("///"))
      .map((line) => (line === "payload Json @db.Json" || line === "payload String" ? "payload Json" : line))
      .join("\n");
    found.set(match[1]!, body);
  }
  return found;
}

const readme = readFileSync(join(root, "packages/kafka/README.md"), "utf8");
const definition = models(/```prisma\n([\s\S]*?)```/.exec(readme)?.[1] ?? "");
const schemas = [
  ...readdirSync(join(root, "services")).map((name) => `services/${name}/prisma/schema.prisma`),
  "packages/kafka/test/prisma/schema.prisma",
].filter((path) => {
  try {
    readFileSync(join(root, path));
    return true;
  } catch {
    return false;
  }
});

describe("the outbox models, defined once", () => {
  it("are defined in packages/kafka/README.md, and every service has a schema", () => {
    expect([...definition.keys()].sort()).toEqual([...MODELS].sort());
    expect(schemas.length).toBeGreaterThanOrEqual(3);
  });

  it.each(schemas)("%s carries them exactly as defined", (path) => {
    const own = models(readFileSync(join(root, path), "utf8"));
    for (const name of MODELS) expect(own.get(name), `${path}: model ${name}`).toBe(definition.get(name));
  });
});
