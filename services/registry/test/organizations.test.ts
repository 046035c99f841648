import { readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry } from "./helpers.ts";

describe("registry skeleton: organizations over HTTP, events through the outbox", () => {
  let r: Awaited<ReturnType<typeof startRegistry>>;
  beforeAll(async () => {
    r = await startRegistry();
  });
  afterAll(async () => r?.close());

  it("answers health and readiness without a token", async () => {
    expect((await r.app.inject({ url: "/healthz" })).statusCode).toBe(200);
    const ready = await r.app.inject({ url: "/readyz" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toMatchObject({ database: "ok", kafka: "ok" });
  });

  it("creates an organization owned by the caller and publishes organization.created once", async () => {
    const res = await r.app.inject({
      method: "POST",
      url: "/organizations",
      headers: r.auth("usr-paul"),
      payload: { name: "Sourceful Home", kind: "developer" },
    });
    expect(res.statusCode).toBe(201);
    const org = res.json();
    expect(org).toMatchObject({ name: "Sourceful Home", kind: "developer", role: "owner" });
    expect(org.id).toMatch(/^org-[0-9a-z]{12}$/);

    const topic = `${r.testKafka.topicPrefix}registry.organization.v1`;
    const messages = await readTopic(r.testKafka.kafka, topic, { count: 1, settleMs: 500 });
    expect(messages).toHaveLength(1);
    expect(messages[0]!.key).toBe(org.id);
    expect(JSON.parse(messages[0]!.headers.envelope!)).toMatchObject({
      type: "organization.created",
      source: "registry",
      schemaVersion: 1,
    });
    expect(JSON.parse(messages[0]!.value!)).toEqual({
      orgId: org.id,
      name: "Sourceful Home",
      kind: "developer",
      ownerIdentityId: "usr-paul",
    });

    const mine = await r.app.inject({ url: `/organizations/${org.id}`, headers: r.auth("usr-paul") });
    expect(mine.statusCode).toBe(200);
    expect(mine.json().role).toBe("owner");
  });

  it("lets one identity belong to many organizations, with a role in each", async () => {
    await r.db.identity.createMany({
      data: [
        { id: "usr-multi", type: "user", name: "Multi Member" },
        { id: "usr-other-owner", type: "user", name: "Other Owner" },
      ],
    });
    const create = (as: string, name: string, kind: string) =>
      r.app.inject({ method: "POST", url: "/organizations", headers: r.auth(as), payload: { name, kind } });
    const own = (await create("usr-multi", "Multi Developer", "developer")).json().id as string;
    const other = (await create("usr-other-owner", "Other Buyer", "buyer")).json().id as string;
    const added = await r.app.inject({
      method: "POST",
      url: `/organizations/${other}/members`,
      headers: r.auth("usr-other-owner"),
      payload: { identityId: "usr-multi", role: "operator" },
    });
    expect(added.statusCode, added.body).toBe(201);
    const read = async (orgId: string) =>
      (await r.app.inject({ url: `/organizations/${orgId}`, headers: r.auth("usr-multi") })).json();
    expect(await read(own)).toMatchObject({ kind: "developer", role: "owner" });
    expect(await read(other)).toMatchObject({ kind: "buyer", role: "operator" });
    expect(await r.db.membership.count({ where: { identityId: "usr-multi" } })).toBe(2);
  });

  it("answers another organization's data as not found, and refuses a missing token", async () => {
    const created = await r.app.inject({
      method: "POST",
      url: "/organizations",
      headers: r.auth("usr-alice"),
      payload: { name: "Alice Energy", kind: "buyer" },
    });
    const { id } = created.json();
    const foreign = await r.app.inject({ url: `/organizations/${id}`, headers: r.auth("usr-mallory") });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.code).toBe("not_found");
    const anonymous = await r.app.inject({ url: `/organizations/${id}` });
    expect(anonymous.statusCode).toBe(401);
  });

  it("refuses a bad body with a 400 naming the field, and records nothing", async () => {
    const res = await r.app.inject({
      method: "POST",
      url: "/organizations",
      headers: r.auth("usr-paul"),
      payload: { name: "X", kind: "wholesaler" },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/kind/);
    expect(await r.db.organization.count({ where: { name: "X" } })).toBe(0);
  });

  it("documents its endpoints in OpenAPI", async () => {
    const doc = (await r.app.inject({ url: "/openapi.json" })).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/organizations", "/organizations/{orgId}"]),
    );
  });
});
