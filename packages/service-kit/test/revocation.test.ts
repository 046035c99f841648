import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, createApp, revocationCache } from "../src/index.ts";
import { config, signToken } from "./helpers.ts";

const bearer = (sub: string, key?: string) => ({
  authorization: `Bearer ${signToken({ sub, ...(key ? { key } : {}) })}`,
});

describe("revoked identities", () => {
  // the service's own record of revocations (a table of its projection, in a real service)
  const revokedInStore = new Set<string>(); // "usr-x" (the identity) or "usr-x key-1" (one of its keys)
  let lookups = 0;
  const cache = revocationCache({
    lookup: async (id, key) => {
      lookups++;
      return revokedInStore.has(id) || (key !== undefined && revokedInStore.has(`${id} ${key}`));
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

  const whoami = (sub: string, key?: string) =>
    app.inject({ method: "GET", url: "/whoami", headers: bearer(sub, key) });

  it("refuses a valid token at once when the process learns of the revocation", async () => {
    expect((await whoami("usr-a")).statusCode).toBe(200);
    cache.revoked("usr-a");
    const res = await whoami("usr-a");
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toMatchObject({ code: "unauthorized", message: "Identity or key revoked" });
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

  it("refuses the tokens of a revoked key, not those of the identity's other keys", async () => {
    expect((await whoami("usr-d", "key-1")).json()).toEqual({ id: "usr-d", type: "user", keyId: "key-1" });
    cache.revoked("usr-d", "key-1");
    expect((await whoami("usr-d", "key-1")).statusCode).toBe(401);
    expect((await whoami("usr-d", "key-2")).statusCode).toBe(200);
    expect((await whoami("usr-d")).statusCode).toBe(200);
    revokedInStore.add("usr-e key-9"); // stored by another instance, or a projection
    await expect.poll(async () => (await whoami("usr-e", "key-9")).statusCode, { timeout: 2000 }).toBe(401);
    expect((await whoami("usr-e", "key-8")).statusCode).toBe(200);
    // the identity revoked: every key's token goes
    cache.revoked("usr-d");
    expect((await whoami("usr-d", "key-2")).statusCode).toBe(401);
  });
});

describe("a revocation cache told of every change", () => {
  it("trusts 'not revoked' for as long as ttlMs says, and asks again once told of a change", async () => {
    const revoked = new Set<string>();
    let lookups = 0;
    let told = true;
    const cache = revocationCache({
      lookup: async (id) => {
        lookups++;
        return revoked.has(id);
      },
      ttlMs: () => (told ? 60_000 : 0),
    });
    expect(await cache.isRevoked("usr-t")).toBe(false);
    revoked.add("usr-t");
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(await cache.isRevoked("usr-t")).toBe(false); // trusted: nobody said it changed
    expect(lookups).toBe(1);
    cache.forgetUnrevoked();
    expect(await cache.isRevoked("usr-t")).toBe(true);
    expect(lookups).toBe(2);
    // a revocation is remembered for good, whatever the cache is told afterwards
    cache.forgetUnrevoked();
    expect(await cache.isRevoked("usr-t")).toBe(true);
    expect(lookups).toBe(2);
    // untold, an answer is read again each time
    told = false;
    expect(await cache.isRevoked("usr-u")).toBe(false);
    expect(await cache.isRevoked("usr-u")).toBe(false);
    expect(lookups).toBe(4);
  });

  it("does not keep the answer of a lookup that ran while a change was announced", async () => {
    let release: (revoked: boolean) => void = () => {};
    let lookups = 0;
    const cache = revocationCache({
      lookup: () => {
        lookups++;
        return new Promise<boolean>((resolve) => {
          release = resolve;
        });
      },
      ttlMs: 60_000,
    });
    const first = cache.isRevoked("usr-r");
    cache.forgetUnrevoked(); // the row changed while the lookup was reading
    release(false);
    expect(await first).toBe(false);
    const second = cache.isRevoked("usr-r");
    expect(lookups).toBe(2); // asked again, not answered from the older read
    release(true);
    expect(await second).toBe(true);
  });
});
