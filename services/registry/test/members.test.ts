import { readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry } from "./helpers.ts";

describe("changing a member's role", () => {
  let r: Awaited<ReturnType<typeof startRegistry>>;
  let orgId: string;
  const call = (as: string, method: "GET" | "POST" | "PATCH", url: string, payload?: object) =>
    r.app.inject({ method, url, headers: r.auth(as), ...(payload ? { payload } : {}) });
  const role = (as: string) => call(as, "PATCH", `/organizations/${orgId}/members/${as}`, { role: "viewer" });

  beforeAll(async () => {
    r = await startRegistry();
    for (const id of ["usr-owner", "usr-admin", "usr-op", "usr-rival"]) {
      await r.db.identity.create({ data: { id, type: "user", name: id } });
    }
    orgId = (await call("usr-owner", "POST", "/organizations", { name: "Roles", kind: "buyer" })).json().id;
    for (const [identityId, memberRole] of [
      ["usr-admin", "admin"],
      ["usr-op", "operator"],
    ]) {
      await call("usr-owner", "POST", `/organizations/${orgId}/members`, { identityId, role: memberRole });
    }
  });
  afterAll(async () => r?.close());

  it("lets an admin promote an operator, and the new role takes effect and is published once", async () => {
    const res = await call("usr-admin", "PATCH", `/organizations/${orgId}/members/usr-op`, { role: "admin" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ orgId, identityId: "usr-op", role: "admin" });
    expect((await call("usr-op", "GET", `/organizations/${orgId}`)).json().role).toBe("admin");
    const events = await readTopic(r.testKafka.kafka, `${r.testKafka.topicPrefix}registry.membership.v1`, {
      count: 4,
      settleMs: 300,
    });
    const changes = events.filter((m) => JSON.parse(m.headers.envelope!).type === "membership.role_changed");
    expect(changes.map((m) => JSON.parse(m.value!))).toEqual([
      { orgId, identityId: "usr-op", from: "operator", to: "admin" },
    ]);
  });

  it("keeps the owner role for owners, never demotes the last owner, and scopes to the organization", async () => {
    const grant = await call("usr-admin", "PATCH", `/organizations/${orgId}/members/usr-op`, {
      role: "owner",
    });
    expect(grant.statusCode).toBe(403);
    const lastOwner = await role("usr-owner");
    expect(lastOwner.statusCode).toBe(409);
    expect(lastOwner.json().error.code).toBe("last_owner");
    expect(
      (await call("usr-op", "PATCH", `/organizations/${orgId}/members/usr-op`, { role: "czar" })).statusCode,
    ).toBe(400);
    expect(
      (await call("usr-rival", "PATCH", `/organizations/${orgId}/members/usr-op`, { role: "viewer" }))
        .statusCode,
    ).toBe(404);
    // with a second owner, the first may step down
    expect(
      (await call("usr-owner", "PATCH", `/organizations/${orgId}/members/usr-admin`, { role: "owner" }))
        .statusCode,
    ).toBe(200);
    expect((await role("usr-owner")).statusCode).toBe(200);
    expect((await call("usr-owner", "GET", `/organizations/${orgId}`)).json().role).toBe("viewer");
  });
});
