import { readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimWithProof, gatewayKeys } from "./gateway-proof.ts";
import { startRegistry } from "./helpers.ts";

describe("sites, devices, DERs and gateway claims", () => {
  let r: Awaited<ReturnType<typeof startRegistry>>;
  let orgId: string;
  let siteId: string;
  const garage = gatewayKeys();

  beforeAll(async () => {
    r = await startRegistry();
    for (const id of ["usr-owner", "usr-viewer", "usr-operator", "usr-rival"]) {
      await r.db.identity.create({ data: { id, type: "user", name: id } });
    }
    await r.db.identity.create({ data: { id: "zap-garage", type: "gateway", name: "Zap" } });
    await r.db.identityKey.create({
      data: {
        keyId: "key-garage",
        identityId: "zap-garage",
        algorithm: "ES256",
        publicKey: garage.publicKeyPem,
      },
    });
    orgId = (await createOrg("usr-owner", "Sourceful Home")).id;
    // the devices talk through the organization's own gateway (gateways.test.ts: claims and takeovers)
    const claim = await claimWithProof(r.app, r.auth("usr-owner"), {
      orgId,
      gatewayId: "zap-garage",
      privateKey: garage.privateKey,
    });
    expect(claim.statusCode).toBe(200);
    siteId = (await call("usr-owner", "POST", `/organizations/${orgId}/sites`, site)).json().id;
    for (const [identityId, role] of [
      ["usr-viewer", "viewer"],
      ["usr-operator", "operator"],
    ]) {
      const added = await call("usr-owner", "POST", `/organizations/${orgId}/members`, { identityId, role });
      expect(added.statusCode).toBe(201);
    }
  });
  afterAll(async () => r?.close());

  const site = { name: "Main Street 42", address: "Main Street 42, Lund", timezone: "Europe/Stockholm" };

  function call(as: string, method: "GET" | "POST" | "PATCH" | "DELETE", url: string, payload?: unknown) {
    return r.app.inject({
      method,
      url,
      headers: r.auth(as),
      ...(payload ? { payload: payload as object } : {}),
    });
  }

  async function createOrg(owner: string, name: string) {
    const res = await call(owner, "POST", "/organizations", { name, kind: "developer" });
    expect(res.statusCode).toBe(201);
    return res.json() as { id: string };
  }

  async function register(as: string, org: string, body: Record<string, unknown>) {
    return call(as, "POST", `/organizations/${org}/devices`, body);
  }

  /** Waits until the relay has published everything, then reads the whole topic. */
  async function published(topic: string) {
    const deadline = Date.now() + 10_000;
    while ((await r.db.outboxMessage.count({ where: { sentAt: null } })) > 0) {
      if (Date.now() > deadline) throw new Error("outbox not drained");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const count = await r.db.outboxMessage.count({ where: { topic } });
    const messages = await readTopic(r.testKafka.kafka, `${r.testKafka.topicPrefix}${topic}`, {
      count,
      settleMs: 500,
    });
    return messages.map((m) => ({
      key: m.key,
      type: JSON.parse(m.headers.envelope!).type as string,
      payload: JSON.parse(m.value!),
    }));
  }

  it("creates a site, an inverter with its D-REC fields, and solar and battery DERs on it", async () => {
    const res = await register("usr-operator", orgId, {
      siteId,
      type: "inverter",
      name: "Hybrid inverter",
      make: "Deye",
      commIdentityId: "zap-garage",
      externalId: "INV_001-a",
      latitude: 55.7,
      longitude: 13.19,
      countryCode: "SWE",
      fuelCode: "ES100",
      deviceTypeCode: "TC100",
      capacity: 8.5,
      commissioningDate: "2021-04-01",
      gridInterconnection: true,
      energyStorage: true,
      energyStorageCapacity: 10,
      sdgBenefits: [7, 1, 13],
      images: ["https://example.com/roof.jpg"],
    });
    expect(res.statusCode).toBe(201);
    const device = res.json();
    expect(device.id).toMatch(/^dev-[0-9a-z]{12}$/);
    expect(device).toMatchObject({ state: "pending", sdgBenefits: 1 + 64 + 4096, sdgGoals: [1, 7, 13] });

    for (const [derType, name] of [
      ["solar", "PV rooftop"],
      ["battery", "Battery 01"],
    ]) {
      const der = await call("usr-operator", "POST", `/organizations/${orgId}/devices/${device.id}/ders`, {
        derType,
        name,
        ratedPowerW: 5000,
      });
      expect(der.statusCode).toBe(201);
      expect(der.json().id).toMatch(/^der-/);
    }
    const ders = await call("usr-viewer", "GET", `/organizations/${orgId}/devices/${device.id}/ders`);
    expect(ders.json().items.map((d: { derType: string }) => d.derType)).toEqual(["solar", "battery"]);

    const listed = await call(
      "usr-viewer",
      "GET",
      `/organizations/${orgId}/devices?countryCode=SWE&type=inverter`,
    );
    expect(listed.json().items.map((d: { id: string }) => d.id)).toContain(device.id);
    const none = await call("usr-viewer", "GET", `/organizations/${orgId}/devices?fuelCode=ES200`);
    expect(none.json().items).toEqual([]);
  });

  it("refuses a DER the device type cannot have, naming derType and the allowed types", async () => {
    const meter = await register("usr-owner", orgId, { siteId, type: "energy_meter", name: "P1 meter" });
    expect(meter.statusCode).toBe(201);
    const res = await call("usr-owner", "POST", `/organizations/${orgId}/devices/${meter.json().id}/ders`, {
      derType: "solar",
      name: "PV",
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("der_not_allowed_on_device");
    expect(res.json().error.message).toMatch(/derType.*solar.*energy_meter.*inverter/);
    expect(await r.db.der.count({ where: { deviceId: meter.json().id } })).toBe(0);
  });

  it("lets a viewer read but not write, and hides the organization from non-members", async () => {
    expect((await call("usr-viewer", "GET", `/organizations/${orgId}/sites/${siteId}`)).statusCode).toBe(200);
    const write = await call("usr-viewer", "POST", `/organizations/${orgId}/sites`, site);
    expect(write.statusCode).toBe(403);
    const device = await register("usr-viewer", orgId, { siteId, type: "battery", name: "B" });
    expect(device.statusCode).toBe(403);
    const operatorDelete = await call("usr-operator", "DELETE", `/organizations/${orgId}/sites/${siteId}`);
    expect(operatorDelete.statusCode).toBe(403);

    const rivalOrg = (await createOrg("usr-rival", "Rival")).id;
    expect((await call("usr-rival", "GET", `/organizations/${orgId}/sites/${siteId}`)).statusCode).toBe(404);
    expect((await call("usr-rival", "GET", `/organizations/${orgId}/devices`)).statusCode).toBe(404);
    // the site exists, but not in the rival's organization
    expect((await call("usr-rival", "GET", `/organizations/${rivalOrg}/sites/${siteId}`)).statusCode).toBe(
      404,
    );
    const foreignSite = await register("usr-rival", rivalOrg, { siteId, type: "battery", name: "B" });
    expect(foreignSite.statusCode).toBe(400);
    expect(foreignSite.json().error.message).toMatch(/siteId/);
  });

  it("refuses a duplicate externalId in the organization (409) and bad characters in it (400)", async () => {
    const body = { siteId, type: "battery", name: "Battery", externalId: "BAT-7" };
    expect((await register("usr-owner", orgId, body)).statusCode).toBe(201);
    const duplicate = await register("usr-owner", orgId, body);
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json().error.code).toBe("external_id_in_use");
    expect(duplicate.json().error.message).toMatch(/externalId/);

    const invalid = await register("usr-owner", orgId, { ...body, externalId: "BAT 7/x" });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.message).toMatch(/externalId/);

    const storage = await register("usr-owner", orgId, { ...body, externalId: "BAT-8", energyStorage: true });
    expect(storage.statusCode).toBe(400);
    expect(storage.json().error.message).toMatch(/energyStorageCapacity/);
    const future = await register("usr-owner", orgId, {
      ...body,
      externalId: "BAT-9",
      commissioningDate: "2999-01-01",
    });
    expect(future.statusCode).toBe(400);
    expect(future.json().error.message).toMatch(/commissioningDate/);
    expect(await r.db.device.count({ where: { orgId, externalId: { in: ["BAT-8", "BAT-9"] } } })).toBe(0);
  });

  it("takes SDG benefits as goals or a bitmask and returns both", async () => {
    const created = await register("usr-owner", orgId, {
      siteId,
      type: "inverter",
      name: "I",
      sdgBenefits: [17, 3],
    });
    expect(created.json()).toMatchObject({ sdgBenefits: (1 << 16) + 4, sdgGoals: [3, 17] });
    const url = `/organizations/${orgId}/devices/${created.json().id}`;
    const patched = await call("usr-owner", "PATCH", url, { sdgBenefits: 1 + 2 + 64 });
    expect(patched.json()).toMatchObject({ sdgBenefits: 67, sdgGoals: [1, 2, 7] });
    expect((await call("usr-viewer", "GET", url)).json()).toMatchObject({
      sdgBenefits: 67,
      sdgGoals: [1, 2, 7],
    });
    const bad = await call("usr-owner", "PATCH", url, { sdgBenefits: [18] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/sdgBenefits/);
  });

  it("records a change of capacity or commissioning date in the device log", async () => {
    const created = await register("usr-owner", orgId, {
      siteId,
      type: "inverter",
      name: "Log me",
      capacity: 5,
      commissioningDate: "2020-01-01",
    });
    const url = `/organizations/${orgId}/devices/${created.json().id}`;
    const patched = await call("usr-operator", "PATCH", url, { capacity: 6.5, name: "Log me too" });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().capacity).toBe(6.5);
    await call("usr-operator", "PATCH", url, { name: "No log" });
    const log = await call("usr-viewer", "GET", `${url}/log`);
    expect(log.json().items).toEqual([
      expect.objectContaining({
        field: "capacity",
        oldValue: "5",
        newValue: "6.5",
        changedBy: "usr-operator",
      }),
    ]);
    await call("usr-operator", "PATCH", url, { commissioningDate: "2020-02-01" });
    const after = (await call("usr-viewer", "GET", `${url}/log`)).json().items;
    expect(after[1]).toMatchObject({
      field: "commissioningDate",
      oldValue: "2020-01-01",
      newValue: "2020-02-01",
    });
  });

  it("publishes device.registered once, keyed by the device id, with capacity in watts", async () => {
    const res = await register("usr-owner", orgId, {
      siteId,
      type: "battery",
      name: "Once",
      externalId: "ONCE-1",
      capacity: 2.5,
      commissioningDate: "2022-05-05",
      countryCode: "SE",
      deviceTypeCode: "TC110",
      offTaker: "School",
      gridInterconnection: true,
    });
    const id = res.json().id;
    const events = (await published("registry.device.v1")).filter((e) => e.key === id);
    expect(events).toEqual([
      {
        key: id,
        type: "device.registered",
        payload: expect.objectContaining({
          deviceId: id,
          orgId,
          siteId,
          state: "pending",
          externalId: "ONCE-1",
          capacityW: 2500,
          commissioningDate: "2022-05-05",
          countryCode: "SE",
          // the reservation service groups by these
          deviceTypeCode: "TC110",
          offTaker: "School",
          gridInterconnection: true,
        }),
      },
    ]);
    const sites = await published("registry.site.v1");
    expect(sites.filter((e) => e.key === siteId).map((e) => e.type)).toEqual(["site.created"]);
  });

  it("deletes DERs, devices and sites in order, owner or admin only for devices and sites", async () => {
    const spare = await call("usr-owner", "POST", `/organizations/${orgId}/sites`, {
      ...site,
      name: "Spare",
    });
    const spareId = spare.json().id;
    const device = (
      await register("usr-owner", orgId, { siteId: spareId, type: "battery", name: "B" })
    ).json();
    const der = (
      await call("usr-operator", "POST", `/organizations/${orgId}/devices/${device.id}/ders`, {
        derType: "battery",
        name: "Cells",
      })
    ).json();
    const busy = await call("usr-owner", "DELETE", `/organizations/${orgId}/sites/${spareId}`);
    expect(busy.statusCode).toBe(409);
    const derUrl = `/organizations/${orgId}/devices/${device.id}/ders/${der.id}`;
    expect((await call("usr-operator", "DELETE", derUrl)).statusCode).toBe(204);
    const deviceUrl = `/organizations/${orgId}/devices/${device.id}`;
    expect((await call("usr-operator", "DELETE", deviceUrl)).statusCode).toBe(403);
    expect((await call("usr-owner", "DELETE", deviceUrl)).statusCode).toBe(204);
    expect((await call("usr-owner", "GET", deviceUrl)).statusCode).toBe(404);
    expect((await call("usr-owner", "DELETE", `/organizations/${orgId}/sites/${spareId}`)).statusCode).toBe(
      204,
    );
  });

  it("adds and removes members, but never the last owner", async () => {
    const operatorAdds = await call("usr-operator", "POST", `/organizations/${orgId}/members`, {
      identityId: "usr-rival",
      role: "viewer",
    });
    expect(operatorAdds.statusCode).toBe(403);
    const last = await call("usr-owner", "DELETE", `/organizations/${orgId}/members/usr-owner`);
    expect(last.statusCode).toBe(409);
    expect(last.json().error.code).toBe("last_owner");
    expect((await call("usr-owner", "DELETE", `/organizations/${orgId}/members/usr-viewer`)).statusCode).toBe(
      204,
    );
    expect((await call("usr-viewer", "GET", `/organizations/${orgId}/sites`)).statusCode).toBe(404);
    const events = await published("registry.membership.v1");
    expect(events.map((e) => e.type)).toEqual(["membership.added", "membership.added", "membership.removed"]);
  });
});
