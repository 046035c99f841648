import { existsSync, readdirSync } from "node:fs";
import { defineConfig } from "vitest/config";

// One run over every package and service: each is a project that inherits these settings. Each test
// file gets its own database and topic prefix (packages/testing), so files run in parallel against the
// same PostgreSQL server and Kafka broker.
const dirs = ["packages", "services"]
  .flatMap((parent) => readdirSync(parent).map((name) => `${parent}/${name}`))
  .concat(["infra", "tools", "e2e"])
  .filter((dir) => existsSync(`${dir}/test`));

export default defineConfig({
  test: {
    globalSetup: ["./packages/testing/src/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: dirs.map((dir) => ({
      extends: true,
      test: { name: dir.split("/").pop()!, root: dir, include: ["test/**/*.test.ts"] },
    })),
  },
});
