import type { MemberRole } from "@energy/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createOrgGuard, type FastifyPluginAsyncZod } from "../src/index.ts";
import { buildTestApp, signToken, type TestApp } from "./helpers.ts";

const memberships: Record<string, MemberRole> = {
  "usr-owner/org-a": "owner",
  "usr-viewer/org-a": "viewer",
};
const requireOrgRole = createOrgGuard(
  async (identityId, orgId) => memberships[`${identityId}/${orgId}`] ?? null,
);

const siteRoutes: FastifyPluginAsyncZod = async (app) => {
  const params = z.object({ orgId: z.string() });
  app.get("/orgs/:orgId/sites", { schema: { params } }, async (request) => {
    const role = await requireOrgRole(request, request.params.orgId, [
      "owner",
      "admin",
      "operator",
      "viewer",
    ]);
    return { role, sites: [] };
  });
  app.post("/orgs/:orgId/sites", { schema: { params } }, async (request, reply) => {
    await requireOrgRole(request, request.params.orgId, ["owner", "admin"]);
    return reply.status(201).send({ id: "sit-1" });
  });
};

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ routes: siteRoutes });
});
afterAll(() => t.app.close());

const as = (sub: string, typ = "user") => ({ authorization: `Bearer ${signToken({ sub, typ })}` });

describe("requireOrgRole", () => {
  it("lets a member read", async () => {
    const res = await t.app.inject({ method: "GET", url: "/orgs/org-a/sites", headers: as("usr-viewer") });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ role: "viewer", sites: [] });
  });

  it("answers another organization's data as not found", async () => {
    const res = await t.app.inject({ method: "GET", url: "/orgs/org-b/sites", headers: as("usr-owner") });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toEqual({ code: "not_found", message: "organization not found" });
  });

  it("forbids a viewer to write", async () => {
    const res = await t.app.inject({ method: "POST", url: "/orgs/org-a/sites", headers: as("usr-viewer") });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe("forbidden");
  });

  it("lets an owner write and root act as owner anywhere", async () => {
    const owner = await t.app.inject({ method: "POST", url: "/orgs/org-a/sites", headers: as("usr-owner") });
    expect(owner.statusCode).toBe(201);
    const root = await t.app.inject({
      method: "GET",
      url: "/orgs/org-z/sites",
      headers: as("root-1", "root"),
    });
    expect(root.json()).toEqual({ role: "owner", sites: [] });
  });
});
