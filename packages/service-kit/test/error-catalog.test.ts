import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  AppError,
  badRequest,
  conflict,
  createApp,
  ERROR_CODES,
  type FastifyPluginAsyncZod,
  GENERIC_ERROR_CODES,
  SERVICE_ERROR_CODES,
} from "../src/index.ts";
import { config as testConfig } from "./helpers.ts";

// The catalog against the code of every service: each code a service throws is in the catalog (generic or
// its own), each of a service's codes is thrown by it, and each route a code names exists. The compiler
// does the rest: a code not in the catalog, or thrown with another status, does not compile (below).

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "generated" ? [] : sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The codes a source throws: the first argument of AppError, badRequest, conflict, … and `code: "…"` of rule results. */
function thrownCodes(text: string): string[] {
  const calls = /(?:new AppError|new FrameError|badRequest|conflict|unique|fail)\(\s*"([a-z_]+)"/g;
  const results = /\bcode: "([a-z_]+)"(?! satisfies)/g;
  return [...text.matchAll(calls), ...text.matchAll(results)].map((m) => m[1] ?? "");
}

const services = Object.keys(SERVICE_ERROR_CODES) as (keyof typeof SERVICE_ERROR_CODES)[];

describe("the error catalog and the services' code", () => {
  it("has a catalog for every service, and only for services", () => {
    const dirs = readdirSync(join(root, "services")).sort();
    expect([...services].sort()).toEqual(dirs);
  });

  describe.each(services)("%s", (service) => {
    const src = join(root, "services", service, "src");
    const files = sources(src).map((path) => ({
      path: relative(root, path),
      text: readFileSync(path, "utf8"),
    }));
    const own = SERVICE_ERROR_CODES[service] as Record<string, { status: number; routes: readonly string[] }>;
    // zod's issue codes, a consumer's warnings and OCPP's own error codes are not answers of a route
    const notAnswers = new Set(["custom", "correction_too_late"]);
    const answerFiles = files.filter(
      (f) =>
        !f.path.includes("/handlers/") && !f.path.includes("/consumers/") && !f.path.endsWith("config.ts"),
    );

    it("throws only codes of the catalog: the generic ones and its own", () => {
      const unknown = answerFiles.flatMap((f) =>
        thrownCodes(f.text)
          .filter((code) => !notAnswers.has(code) && !(code in GENERIC_ERROR_CODES) && !(code in own))
          .map((code) => `${f.path}: ${code}`),
      );
      expect(unknown).toEqual([]);
    });

    it("throws each code of its catalog somewhere (no code is left behind)", () => {
      const thrown = new Set(answerFiles.flatMap((f) => thrownCodes(f.text)));
      const text = answerFiles.map((f) => f.text).join("\n");
      // a code made elsewhere and passed on (unique("member_key_in_use", …)) is still named in the source
      const unused = Object.keys(own).filter((code) => !thrown.has(code) && !text.includes(`"${code}"`));
      expect(unused).toEqual([]);
    });

    it("names only routes the service registers", () => {
      const declared = new Set(
        answerFiles.flatMap((f) =>
          [...f.text.matchAll(/\.(get|post|put|patch|delete)(?:<[^>]*>)?\(\s*"([^"]+)"/g)].map(
            (m) => `${(m[1] ?? "").toUpperCase()} ${(m[2] ?? "").replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`,
          ),
        ),
      );
      const missing = Object.entries(own).flatMap(([code, entry]) =>
        entry.routes.filter((route) => !declared.has(route)).map((route) => `${code}: ${route}`),
      );
      expect(declared.size).toBeGreaterThan(0);
      expect(missing).toEqual([]);
    });
  });

  it("gives a code one status wherever it is used", () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      for (const catalog of Object.values(SERVICE_ERROR_CODES) as Record<string, { status: number }>[]) {
        if (catalog[code]) expect(catalog[code].status, code).toBe(entry.status);
      }
    }
  });

  it("refuses at compile time a code that is not in the catalog, or with another status", () => {
    // @ts-expect-error not a code of the catalog
    const unknown = badRequest("no_such_code", "x");
    // @ts-expect-error last_owner is a 409, not a 400
    const wrongStatus = new AppError("last_owner", 400, "x");
    // @ts-expect-error conflict takes 409 codes only
    const notAConflict = conflict("invalid_csv", "x");
    expect([unknown.status, wrongStatus.status, notAConflict.status]).toEqual([400, 400, 409]);
    expect(new AppError("last_owner", 409, "the last owner").status).toBe(ERROR_CODES.last_owner.status);
  });
});

describe("a route's own codes in the OpenAPI document", () => {
  it("lists the service's codes that name the route, by status, after the generic ones", async () => {
    const routes: FastifyPluginAsyncZod = async (app) => {
      app.delete(
        "/organizations/:orgId/members/:identityId",
        { schema: { params: z.object({ orgId: z.string(), identityId: z.string() }) } },
        async () => {
          throw conflict("last_owner", "identityId: the organization's last owner");
        },
      );
      app.post("/organizations/:orgId/imports", async () => {
        throw badRequest("invalid_csv", "line 2: not CSV", { line: 2 });
      });
    };
    const app = await createApp({ name: "registry", config: testConfig, logger: { level: "silent" } });
    await app.register(routes);
    await app.ready();
    const doc = (await app.inject({ url: "/openapi.json" })).json();
    const members = doc.paths["/organizations/{orgId}/members/{identityId}"].delete.responses;
    expect(members["409"].description).toContain("`last_owner`: The organization's last owner");
    expect(members["400"].description).toContain("`validation_failed`");
    expect(members["400"].description).not.toContain("`invalid_csv`");
    const imports = doc.paths["/organizations/{orgId}/imports"].post.responses;
    expect(imports["400"].description).toContain("`invalid_csv`");
    expect(imports["400"].description).toContain("`invalid_header`");
    expect(imports["409"]).toBeUndefined();
    await app.close();
  });
});
