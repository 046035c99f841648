import { readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry } from "./helpers.ts";

describe("energy communities, members and assets", () => {
  let r: Awaited<ReturnType<typeof startRegistry>>;
  let orgId: string;
  let rivalOrg: string;

  function call(as: string, method: "GET" | "POST" | "PATCH" | "DELETE", url: string, payload?: unknown) {
    return r.app.inject({
      method,
      url,
      headers: r.auth(as),
      ...(payload ? { payload: payload as object } : {}),
    });
  }
  const createOrg = async (owner: string) =>
    (await call(owner, "POST", "/organizations", { name: owner, kind: "developer" })).json().id as string;

  beforeAll(async () => {
    r = await startRegistry();
    for (const id of ["usr-owner", "usr-viewer", "usr-rival", "usr-anna"]) {
      await r.db.identity.create({ data: { id, type: "user", name: id } });
    }
    orgId = await createOrg("usr-owner");
    rivalOrg = await createOrg("usr-rival");
    await call("usr-owner", "POST", `/organizations/${orgId}/members`, {
      identityId: "usr-viewer",
      role: "viewer",
    });
  });
  afterAll(async () => r?.close());

  const base = () => `/organizations/${orgId}/communities`;
  const json = {
    areas: { north: { name: "North", topology: ["cab-1"], location: { lat: 45.1, lon: 7.6 } } },
    topology: [
      { id: "cab-1", type: "secondary_substation", name: "Cabin 1", operator_id: "dso", children: [] },
    ],
    legal: { name: "Example REC", vat: "IT01234567890", legal_form: "association" },
    links: { website: "https://rec.example.org", privacy_policy: "https://rec.example.org/privacy" },
    contact: { email: "info@rec.example.org", pec: "rec@pec.example.it", phone: "+39 011 123456" },
    settings: { timezone: "Europe/Rome", currency: "EUR" },
    extra: { operators: [{ id: "dso", name: "E-Distribuzione" }], founded: 2024 },
  };

  async function community(key: string) {
    const res = await call("usr-owner", "POST", base(), { key, name: `REC ${key}`, ...json });
    expect(res.statusCode).toBe(201);
    return res.json();
  }
  async function member(key: string, body: Record<string, unknown> = {}) {
    return call("usr-owner", "POST", `${base()}/${"example_rec"}/members`, {
      key,
      name: key,
      role: "prosumer",
      ...body,
    });
  }
  const asset = (communityKey: string, body: Record<string, unknown>) =>
    call("usr-owner", "POST", `${base()}/${communityKey}/assets`, body);

  it("creates a community and returns its JSON fields exactly as given", async () => {
    const created = await community("example_rec");
    expect(created).toMatchObject({
      key: "example_rec",
      name: "REC example_rec",
      description: null,
      orgId,
      ...json,
    });
    expect(created.id).toMatch(/^cmy-/);
    const read = (await call("usr-viewer", "GET", `${base()}/example_rec`)).json();
    for (const field of Object.keys(json)) expect(read[field]).toEqual(json[field as keyof typeof json]);
    expect((await call("usr-viewer", "GET", base())).json().items.map((c: { key: string }) => c.key)).toEqual(
      ["example_rec"],
    );
    const duplicate = await call("usr-owner", "POST", base(), { key: "example_rec", name: "Again" });
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json().error.code).toBe("community_key_in_use");

    const badJson = await call("usr-owner", "POST", base(), {
      key: "bad",
      name: "Bad",
      settings: { timezone: "Mars/Olympus" },
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().error.message).toMatch(/settings\.timezone/);

    const patched = await call("usr-owner", "PATCH", `${base()}/example_rec`, { description: "Turin REC" });
    expect(patched.json()).toMatchObject({ description: "Turin REC", legal: json.legal });
  });

  it("adds, changes and removes members; refuses unknown enums, areas and identities naming the field", async () => {
    const anna = await member("anna", {
      identityId: "usr-anna",
      area: "north",
      deliveryPoints: [{ id: "IT001E1", type: "pod", tariff: "D2", active: true }],
      extra: { type: "schema:Person" },
    });
    expect(anna.statusCode).toBe(201);
    expect(anna.json()).toMatchObject({
      key: "anna",
      identityId: "usr-anna",
      role: "prosumer",
      status: "pending",
      area: "north",
      deliveryPoints: [{ id: "IT001E1", type: "pod", tariff: "D2", active: true }],
      extra: { type: "schema:Person" },
    });
    expect((await member("bob", { role: "consumer", status: "active" })).statusCode).toBe(201);
    expect((await member("anna")).statusCode).toBe(409);

    for (const [body, field] of [
      [{ role: "landlord" }, "role"],
      [{ status: "sleeping" }, "status"],
      [{ area: "south" }, "area"],
      [{ identityId: "usr-nobody" }, "identityId"],
    ] as const) {
      const res = await member("carl", body);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toContain(field);
    }

    const url = `${base()}/example_rec/members/bob`;
    expect((await call("usr-owner", "PATCH", url, { status: "suspended" })).json().status).toBe("suspended");
    expect((await call("usr-owner", "PATCH", url, { status: "gone" })).statusCode).toBe(400);
    expect((await call("usr-viewer", "GET", `${base()}/example_rec/members`)).json().items).toHaveLength(2);
    expect((await call("usr-owner", "DELETE", url)).statusCode).toBe(204);
    expect((await call("usr-owner", "GET", url)).statusCode).toBe(404);
  });

  it("adds assets with typed properties and relationships, refusing bad ones naming the field", async () => {
    const pv = await asset("example_rec", {
      key: "pv-anna",
      assetType: "pv",
      name: "Rooftop PV",
      ownerMemberKey: "anna",
      properties: { capacity_kwp: 6, orientation: 180, tilt: 30 },
      device: {
        manufacturer: "SunPower",
        model: "X22",
        serialNumber: "SP-1",
        firmwareVersion: "1.2",
        type: "pv_panel",
      },
    });
    expect(pv.statusCode).toBe(201);
    expect(pv.json()).toMatchObject({
      key: "pv-anna",
      assetType: "pv",
      properties: { capacity_kwp: 6, orientation: 180, tilt: 30 },
      device: { manufacturer: "SunPower", serialNumber: "SP-1" },
    });
    const meter = await asset("example_rec", {
      key: "meter-anna",
      assetType: "meter",
      name: "Production meter",
      sensorId: "sens-42",
      ownerMemberKey: "anna",
      properties: { meter_type: "production", pod: "IT001E1", direction: "export" },
      relationships: { measures: ["pv-anna"] },
    });
    expect(meter.statusCode).toBe(201);
    expect(meter.json().relationships).toEqual({ measures: ["pv-anna"] });

    const refused = [
      [{ assetType: "pv", properties: { capacity_kwp: -3 } }, "properties.capacity_kwp"],
      [{ assetType: "storage", properties: { capacity_kw: 5 } }, "properties.capacity_kw"],
      [{ assetType: "meter", properties: { direction: "up" } }, "properties.direction"],
      [{ assetType: "windmill", properties: {} }, "assetType"],
      [{ assetType: "meter", ownerMemberKey: "nobody" }, "ownerMemberKey"],
      [{ assetType: "meter", relationships: { pairedWith: ["pv-elsewhere"] } }, "pv-elsewhere"],
    ] as const;
    for (const [body, named] of refused) {
      const res = await asset("example_rec", { key: "x", name: "X", ownerMemberKey: "anna", ...body });
      expect(res.statusCode, named).toBe(400);
      expect(res.json().error.message).toContain(named);
    }

    // an asset of another community of the same organization is not a relation
    await community("other_rec");
    await call("usr-owner", "POST", `${base()}/other_rec/members`, {
      key: "zoe",
      name: "Zoe",
      role: "producer",
    });
    const elsewhere = await asset("other_rec", {
      key: "pv-elsewhere",
      assetType: "pv",
      name: "PV",
      ownerMemberKey: "zoe",
      properties: { capacity_kwp: 3 },
    });
    expect(elsewhere.statusCode).toBe(201);
    const crossed = await asset("example_rec", {
      key: "meter-x",
      assetType: "meter",
      name: "M",
      ownerMemberKey: "anna",
      relationships: { measures: ["pv-elsewhere"] },
    });
    expect(crossed.statusCode).toBe(400);
    expect(crossed.json().error.message).toMatch(/relationships\.measures.*pv-elsewhere/);
    // the owner must be a member of this community, not of another one
    const foreignOwner = await asset("example_rec", {
      key: "y",
      assetType: "meter",
      name: "Y",
      ownerMemberKey: "zoe",
    });
    expect(foreignOwner.statusCode).toBe(400);
    expect(await r.db.communityAsset.count({ where: { key: { in: ["x", "y", "meter-x"] } } })).toBe(0);

    const url = `${base()}/example_rec/assets`;
    const patched = await call("usr-owner", "PATCH", `${url}/pv-anna`, { properties: { capacity_kwp: 7.5 } });
    expect(patched.json().properties).toEqual({ capacity_kwp: 7.5 });
    const badPatch = await call("usr-owner", "PATCH", `${url}/pv-anna`, { assetType: "storage" });
    expect(badPatch.statusCode).toBe(400);
    expect(badPatch.json().error.message).toMatch(/properties\.capacity_kwh/);
    expect(
      (await call("usr-viewer", "GET", `${url}?assetType=meter`))
        .json()
        .items.map((a: { key: string }) => a.key),
    ).toEqual(["meter-anna"]);

    const referenced = await call("usr-owner", "DELETE", `${url}/pv-anna`);
    expect(referenced.statusCode).toBe(409);
    expect(referenced.json().error.message).toContain("meter-anna");
    const owner = await call("usr-owner", "DELETE", `${base()}/example_rec/members/anna`);
    expect(owner.statusCode).toBe(409);
    expect(owner.json().error.code).toBe("member_has_assets");
    expect((await call("usr-owner", "DELETE", `${url}/meter-anna`)).statusCode).toBe(204);
    expect((await call("usr-owner", "DELETE", `${url}/pv-anna`)).statusCode).toBe(204);
  });

  it("hides communities from other organizations and keeps viewers read-only", async () => {
    expect((await call("usr-rival", "GET", `${base()}/example_rec`)).statusCode).toBe(404);
    expect((await call("usr-rival", "GET", `${base()}/example_rec/members`)).statusCode).toBe(404);
    expect(
      (await call("usr-rival", "GET", `/organizations/${rivalOrg}/communities/example_rec`)).statusCode,
    ).toBe(404);
    expect((await call("usr-viewer", "POST", base(), { key: "v", name: "V" })).statusCode).toBe(403);
    expect(
      (
        await call("usr-viewer", "POST", `${base()}/example_rec/members`, {
          key: "v",
          name: "V",
          role: "consumer",
        })
      ).statusCode,
    ).toBe(403);
    expect((await call("usr-viewer", "DELETE", `${base()}/other_rec`)).statusCode).toBe(403);
  });

  it("publishes community, member and asset events keyed by the community id, and deletes with members", async () => {
    const other = (await call("usr-owner", "GET", `${base()}/other_rec`)).json();
    expect((await call("usr-owner", "DELETE", `${base()}/other_rec`)).statusCode).toBe(204);
    expect(await r.db.communityMember.count({ where: { communityId: other.id } })).toBe(0);

    const deadline = Date.now() + 10_000;
    while ((await r.db.outboxMessage.count({ where: { sentAt: null } })) > 0) {
      if (Date.now() > deadline) throw new Error("outbox not drained");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const topic = "registry.community.v1";
    const count = await r.db.outboxMessage.count({ where: { topic } });
    const messages = (
      await readTopic(r.testKafka.kafka, `${r.testKafka.topicPrefix}${topic}`, { count, settleMs: 500 })
    ).map((m) => ({
      key: m.key,
      type: JSON.parse(m.headers.envelope!).type as string,
      payload: JSON.parse(m.value!),
    }));
    expect(messages.filter((m) => m.key === other.id).map((m) => m.type)).toEqual([
      "community.created",
      "member.added",
      "asset.added",
      "community.deleted",
    ]);
    const added = messages.find((m) => m.type === "asset.added" && m.payload.assetKey === "meter-anna");
    expect(added?.payload).toMatchObject({ assetType: "meter", ownerMemberKey: "anna", deviceId: null });
    expect(
      messages.filter((m) => m.type === "community.created" && m.payload.key === "example_rec"),
    ).toHaveLength(1);
  });
});
