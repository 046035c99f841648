import { topics } from "@energy/contracts";
import { EventProducer } from "@energy/kafka";
import { waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ingestion, startIngestion } from "./helpers.ts";

// Who may read an organization's data follows registry.membership.v1 (service-kit's membershipProjection,
// which ingestion, ocpp, meter-read and reservation share): added, role changed, removed, as a member sees it.

let ing: Ingestion;
let registry: EventProducer;

beforeAll(async () => {
  ing = await startIngestion({}, { consumers: true });
  registry = new EventProducer(ing.kafka, { source: "registry", topicPrefix: ing.testKafka.topicPrefix });
  await registry.connect();
});
afterAll(async () => {
  await registry?.disconnect();
  await ing?.close();
});

const member = (orgId: string, identityId: string) =>
  ing.db.membership.findUnique({ where: { orgId_identityId: { orgId, identityId } } });
const offline = (identityId: string) =>
  ing.app.inject({
    method: "GET",
    url: "/organizations/org-mp/devices/offline",
    headers: ing.auth(identityId, "user"),
  });

describe("the membership projection", () => {
  it("lets a member in when added, follows a role change, and shuts the member out when removed", async () => {
    expect((await offline("usr-mp")).statusCode).toBe(404);

    await registry.publish(topics.registryMembership, "membership.added", {
      orgId: "org-mp",
      identityId: "usr-mp",
      role: "viewer",
    });
    await waitFor("the membership", () => member("org-mp", "usr-mp"));
    expect((await offline("usr-mp")).statusCode).toBe(200);

    await registry.publish(topics.registryMembership, "membership.role_changed", {
      orgId: "org-mp",
      identityId: "usr-mp",
      from: "viewer",
      to: "admin",
    });
    await waitFor("the new role", async () => (await member("org-mp", "usr-mp"))?.role === "admin");
    // an added replayed after the change lands on the same row (one membership per identity)
    await registry.publish(topics.registryMembership, "membership.added", {
      orgId: "org-mp",
      identityId: "usr-mp",
      role: "operator",
    });
    await waitFor("the replayed added", async () => (await member("org-mp", "usr-mp"))?.role === "operator");
    expect(await ing.db.membership.count({ where: { orgId: "org-mp" } })).toBe(1);

    await registry.publish(topics.registryMembership, "membership.removed", {
      orgId: "org-mp",
      identityId: "usr-mp",
    });
    await waitFor("the membership gone", async () => (await member("org-mp", "usr-mp")) === null);
    expect((await offline("usr-mp")).statusCode).toBe(404);
  });
});
