import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, createApp, revocationCache } from "../src/index.ts";
import { config, signToken } from "./helpers.ts";

const bearer = (sub: string) => ({ authorization: `Bearer ${signToken({ sub })}` });

describe("revoked identities", () => {
  // the service's own record of revocations (a table of its projection, in a real service)
  const revokedInStore = new Set<string>();
  let lookups = 0;
  const cache = revocationCache({
    lookup: async (id) => {
      lookups++;
      return revokedInStore.has(id);
    },
    ttlMs: 200,
  });
  let app: App;

  beforeAll(async () => {
    app = await createApp({
      name: "test-service",
      config: { ...config, LOG_LEVEL: "warn" },
      isRevoked: cache.isRevoked,
    });
    app.get("/whoami", async (request) => request.identity);
    await app.ready();
  });
  afterAll(() => app.close());

  const whoami = (sub: string) => app.inject({ method: "GET", url: "/whoami", headers: bearer(sub) });

  it("refuses a valid token at once when the process learns of the revocation", async () => {
    expect((await whoami("usr-a")).statusCode).toBe(200);
    cache.revoked("usr-a");
    const res = await whoami("usr-a");
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toMatchObject({ code: "unauthorized", message: "Identity revoked" });
    expect((await whoami("usr-other")).statusCode).toBe(200);
  });

  it("refuses a revocation stored elsewhere within the cache's time to live", async () => {
    expect((await whoami("usr-b")).statusCode).toBe(200);
    revokedInStore.add("usr-b");
    const started = Date.now();
    while ((await whoami("usr-b")).statusCode === 200) {
      expect(Date.now() - started).toBeLessThan(2000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await whoami("usr-b")).statusCode).toBe(401);
  });

  it("asks the store once for requests arriving together, and not again while the answer is fresh", async () => {
    const before = lookups;
    const answers = await Promise.all(Array.from({ length: 20 }, () => whoami("usr-c")));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(200));
    await whoami("usr-c");
    expect(lookups - before).toBe(1);
  });
});
