import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig } from "prisma/config";

// The 6.19 CLI wants the datasource's env("DATABASE_URL") set even for `generate` (or it tries to
// download a query engine); the adapter below is what connects.
process.env.DATABASE_URL ??= "postgresql://postgres@127.0.0.1:5432/energy_registry";

// Prisma Migrate runs offline on its bundled Wasm schema engine through the pg driver adapter.
export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  adapter: async () => new PrismaPg({ connectionString: process.env.DATABASE_URL }),
});
