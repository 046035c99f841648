import type { AddressInfo } from "node:net";
import { topics } from "@energy/contracts";
import { EventProducer, event } from "@energy/kafka";
import { waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type Ingestion, startIngestion } from "./helpers.ts";

// Ingestion learns which gateway serves which device from the registry's events, and follows changes:
// a device moved to another gateway, an orphaned device, a deleted DER.

let ing: Ingestion;
let registry: EventProducer;

beforeAll(async () => {
  ing = await startIngestion({}, { consumers: true }); // the registry projection among them
  registry = new EventProducer(ing.kafka, { source: "registry", topicPrefix: ing.testKafka.topicPrefix });
  await registry.connect();
});
afterAll(async () => {
  await registry?.disconnect();
  await ing?.close();
});

const device = (commIdentityId: string | null) => ({
  deviceId: "dev-p",
  orgId: "org-p",
  siteId: "site-p",
  type: "inverter" as const,
  state: "pending" as const,
  name: "Roof inverter",
  commIdentityId,
  externalId: null,
  make: null,
  model: null,
  capacityW: 5000,
  commissioningDate: null,
  countryCode: "SE",
  fuelCode: null,
});
const der = {
  derId: "der-p",
  deviceId: "dev-p",
  siteId: "site-p",
  orgId: "org-p",
  derType: "solar" as const,
  name: "PV",
  ratedPowerW: 5000,
};

let minute = 0;
const send = (gateway: string) =>
  ing.app.inject({
    method: "POST",
    url: "/v1/telemetry",
    headers: ing.auth(gateway),
    payload: [
      {
        derId: "der-p",
        reading: { type: "pv", timestamp: Date.now() - 3_600_000 + ++minute * 60_000, W: -5 },
      },
    ],
  });

async function until(what: string, check: () => Promise<boolean>) {
  await waitFor(what, check, { timeoutMs: 20_000 });
}

describe("the registry projection", () => {
  it("lets a gateway report for its device once the registry's events arrived", async () => {
    expect((await send("gw-p1")).json().rejected[0].reasons[0].message).toContain("is not a registered DER");
    await registry.publishAll([
      event(
        topics.registryOrganization,
        "organization.created",
        { orgId: "org-p", name: "P", kind: "developer", ownerIdentityId: "usr-p" },
        { key: "org-p" },
      ),
      event(
        topics.registrySite,
        "site.created",
        { siteId: "site-p", orgId: "org-p", name: "Home", address: null, timezone: "Europe/Oslo" },
        { key: "site-p" },
      ),
      event(topics.registryDevice, "device.registered", device("gw-p1"), { key: "dev-p" }),
      event(topics.registryDer, "der.created", der, { key: "der-p" }),
      event(
        topics.registryMembership,
        "membership.added",
        { orgId: "org-p", identityId: "usr-viewer", role: "viewer" },
        { key: "org-p" },
      ),
    ]);
    // each topic is consumed on its own (no order across topics): wait for all of them
    await until(
      "the device, DER, site and members projected",
      async () =>
        (await ing.db.device.count({ where: { id: "dev-p" } })) === 1 &&
        (await ing.db.der.count({ where: { id: "der-p" } })) === 1 &&
        (await ing.db.site.count({ where: { id: "site-p" } })) === 1 &&
        (await ing.db.membership.count({ where: { orgId: "org-p" } })) === 2,
    );
    expect((await send("gw-p1")).json()).toEqual({ accepted: 1, rejected: [] });
    expect(await ing.db.site.findUnique({ where: { id: "site-p" } })).toMatchObject({
      timezone: "Europe/Oslo",
    });
    expect(
      await ing.db.membership.findMany({ where: { orgId: "org-p" }, orderBy: { identityId: "asc" } }),
    ).toEqual([
      { orgId: "org-p", identityId: "usr-p", role: "owner" },
      { orgId: "org-p", identityId: "usr-viewer", role: "viewer" },
    ]);
  });

  it("follows a device moved to another gateway", async () => {
    await registry.publish(topics.registryDevice, "device.updated", device("gw-p2"), { key: "dev-p" });
    await until(
      "the new gateway projected",
      async () => (await ing.db.device.findUnique({ where: { id: "dev-p" } }))?.commIdentityId === "gw-p2",
    );
    expect((await send("gw-p1")).json().rejected[0].reasons[0].message).toContain(
      "gateway gw-p1 does not serve device dev-p",
    );
    expect((await send("gw-p2")).json().accepted).toBe(1);
  });

  it("refuses readings of an orphaned device, and of a deleted DER", async () => {
    await registry.publish(
      topics.registryDevice,
      "device.state_changed",
      {
        deviceId: "dev-p",
        orgId: "org-p",
        from: "active",
        to: "orphaned",
        reason: "gateway claimed",
      },
      { key: "dev-p" },
    );
    await until(
      "orphaned",
      async () => (await ing.db.device.findUnique({ where: { id: "dev-p" } }))?.state === "orphaned",
    );
    expect((await send("gw-p2")).json().rejected[0].reasons[0].message).toContain("is orphaned");
    await registry.publish(
      topics.registryDer,
      "der.deleted",
      { derId: "der-p", deviceId: "dev-p", orgId: "org-p", derType: "solar" },
      { key: "der-p" },
    );
    await until("the DER gone", async () => (await ing.db.der.count({ where: { id: "der-p" } })) === 0);
    expect((await send("gw-p2")).json().rejected[0].reasons[0].message).toContain("is not a registered DER");
  });

  it("keeps machine keys and revokes them with the identity", async () => {
    const key = {
      keyId: "key-p",
      algorithm: "ES256" as const,
      publicKey: "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----",
    };
    await registry.publishAll([
      event(
        topics.registryIdentity,
        "identity.registered",
        { identityId: "gw-p2", identityType: "gateway", name: "GW", ...key },
        { key: "gw-p2" },
      ),
      event(
        topics.registryIdentity,
        "identity.key_added",
        { identityId: "gw-p2", ...key, keyId: "key-p2" },
        { key: "gw-p2" },
      ),
    ]);
    await until(
      "both keys",
      async () => (await ing.db.identityKey.count({ where: { identityId: "gw-p2" } })) === 2,
    );
    expect((await ing.db.identityKey.findUnique({ where: { keyId: "key-p2" } }))?.identityType).toBe(
      "gateway",
    );
    await registry.publish(
      topics.registryIdentity,
      "identity.revoked",
      { identityId: "gw-p2", reason: null },
      { key: "gw-p2" },
    );
    await until(
      "revoked",
      async () => (await ing.db.identityKey.count({ where: { identityId: "gw-p2", revokedAt: null } })) === 0,
    );
  });

  it("refuses a revoked identity's unexpired tokens within seconds of identity.revoked", async () => {
    await ing.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = ing.app.server.address() as AddressInfo;
    const socket = new WebSocket(`ws://127.0.0.1:${port}/v1/telemetry/ws`, { headers: ing.auth("gw-p3") });
    const closed = new Promise<[number, string]>((resolve) =>
      socket.once("close", (code, reason) => resolve([code, reason.toString()])),
    );
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const read = () =>
      ing.app.inject({
        method: "GET",
        url: "/organizations/org-p/devices/offline",
        headers: ing.auth("usr-p", "user"),
      });
    expect((await send("gw-p3")).statusCode).toBe(200);
    expect((await read()).statusCode).toBe(200);

    const published = Date.now();
    await registry.publishAll(
      ["gw-p3", "usr-p"].map((identityId) =>
        event(topics.registryIdentity, "identity.revoked", { identityId, reason: null }),
      ),
    );
    await until(
      "the revoked gateway's and user's tokens refused",
      async () => (await send("gw-p3")).statusCode === 401 && (await read()).statusCode === 401,
    );
    expect(Date.now() - published).toBeLessThan(10_000);
    expect((await read()).json().error).toMatchObject({
      code: "unauthorized",
      message: "Identity or key revoked",
    });
    // the stream opened before the revocation ends at its next frame
    socket.send(JSON.stringify({ batchId: "after-revocation", items: [] }));
    expect(await closed).toEqual([1008, "identity revoked"]);
    // nobody else is refused
    expect((await send("gw-p4")).statusCode).toBe(200);
  });

  it("refuses the tokens of a revoked key within seconds of identity.key_revoked, not the other key's", async () => {
    const key = (keyId: string) => ({
      identityId: "gw-p5",
      keyId,
      algorithm: "ES256" as const,
      publicKey: `-----BEGIN PUBLIC KEY-----\n${keyId}\n-----END PUBLIC KEY-----`,
    });
    await registry.publishAll([
      event(
        topics.registryIdentity,
        "identity.registered",
        { identityType: "gateway", name: "GW5", ...key("key-p5a") },
        { key: "gw-p5" },
      ),
      event(topics.registryIdentity, "identity.key_added", key("key-p5b"), { key: "gw-p5" }),
    ]);
    const sendWith = (keyId: string) =>
      ing.app.inject({
        method: "POST",
        url: "/v1/telemetry",
        headers: { authorization: `Bearer ${ing.tokenFor("gw-p5", "gateway", { key: keyId })}` },
        payload: [{ derId: "der-p5", reading: { type: "pv", timestamp: Date.now() - 60_000, W: -5 } }],
      });
    await until(
      "both keys",
      async () => (await ing.db.identityKey.count({ where: { identityId: "gw-p5" } })) === 2,
    );
    expect((await sendWith("key-p5a")).statusCode).toBe(200);
    const published = Date.now();
    await registry.publish(
      topics.registryIdentity,
      "identity.key_revoked",
      { identityId: "gw-p5", keyId: "key-p5a", reason: null },
      { key: "gw-p5" },
    );
    await until(
      "the revoked key's token refused",
      async () => (await sendWith("key-p5a")).statusCode === 401,
    );
    expect(Date.now() - published).toBeLessThan(10_000);
    expect((await sendWith("key-p5b")).statusCode).toBe(200);
  });
});
