import { randomUUID } from "node:crypto";
import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig } from "prisma/config";

/**
 * The prisma.config.ts of every service: Prisma 6.19 Migrate runs offline on its bundled Wasm schema
 * engine through the pg driver adapter (no Rust engine download).
 *
 * - DATABASE_URL: the database to migrate. The 6.19 CLI also reads the datasource's env("DATABASE_URL")
 *   even for `generate` (without it, it tries to download a query engine), hence the default.
 * - `prisma migrate dev` needs a fresh shadow database each time it connects to one. The adapter's own
 *   connectToShadowDb ignores the database name when given a connection string (it would use the main
 *   database), so this one creates `prisma_shadow_<uuid>` on the same server and drops it on dispose.
 */
export function prismaConfig(opts: { schema: string }): ReturnType<typeof defineConfig> {
  process.env.DATABASE_URL ??= "postgresql://postgres@127.0.0.1:5432/postgres";
  const url = process.env.DATABASE_URL;
  return defineConfig({
    experimental: { adapter: true },
    engine: "js",
    schema: opts.schema,
    adapter: async () => {
      const factory = new PrismaPg({ connectionString: url });
      factory.connectToShadowDb = async () => {
        const admin = await new PrismaPg({ connectionString: url }).connect();
        const name = `prisma_shadow_${randomUUID().replaceAll("-", "")}`;
        await admin.executeScript(`CREATE DATABASE "${name}"`);
        const shadowUrl = new URL(url);
        shadowUrl.pathname = `/${name}`;
        const shadow = await new PrismaPg({ connectionString: shadowUrl.toString() }).connect();
        const dispose = shadow.dispose.bind(shadow);
        shadow.dispose = async () => {
          await dispose();
          await admin.executeScript(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
          await admin.dispose();
        };
        return shadow;
      };
      return factory;
    },
  });
}
