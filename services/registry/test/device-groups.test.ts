import { readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry } from "./helpers.ts";

describe("device groups", () => {
  let r: Awaited<ReturnType<typeof startRegistry>>;
  let orgId: string;
  let rivalOrg: string;
  const devices: Record<string, string> = {};

  function call(as: string, method: "GET" | "POST" | "PATCH" | "DELETE", url: string, payload?: unknown) {
    return r.app.inject({
      method,
      url,
      headers: r.auth(as),
      ...(payload ? { payload: payload as object } : {}),
    });
  }

  async function setupOrg(owner: string, name: string) {
    const org = (await call(owner, "POST", "/organizations", { name, kind: "developer" })).json()
      .id as string;
    const site = await call(owner, "POST", `/organizations/${org}/sites`, {
      name: "S",
      timezone: "Europe/Rome",
    });
    return { org, siteId: site.json().id as string };
  }

  async function device(owner: string, org: string, siteId: string, body: Record<string, unknown>) {
    const res = await call(owner, "POST", `/organizations/${org}/devices`, {
      siteId,
      type: "inverter",
      ...body,
    });
    expect(res.statusCode).toBe(201);
    return res.json().id as string;
  }

  beforeAll(async () => {
    r = await startRegistry();
    for (const id of ["usr-owner", "usr-viewer", "usr-rival"]) {
      await r.db.identity.create({ data: { id, type: "user", name: id } });
    }
    const mine = await setupOrg("usr-owner", "Solar Co");
    orgId = mine.org;
    await call("usr-owner", "POST", `/organizations/${orgId}/members`, {
      identityId: "usr-viewer",
      role: "viewer",
    });
    devices.kenya = await device("usr-owner", orgId, mine.siteId, {
      name: "Kenya PV",
      countryCode: "KEN",
      fuelCode: "ES100",
      capacity: 50,
      offTaker: "School",
    });
    devices.nigeria = await device("usr-owner", orgId, mine.siteId, {
      name: "Nigeria PV",
      countryCode: "NGA",
      fuelCode: "ES100",
      capacity: 400,
    });
    devices.diesel = await device("usr-owner", orgId, mine.siteId, {
      name: "Nigeria hybrid",
      countryCode: "NGA",
      fuelCode: "ES200",
      capacity: 20,
    });
    const rival = await setupOrg("usr-rival", "Rival");
    rivalOrg = rival.org;
    devices.rival = await device("usr-rival", rivalOrg, rival.siteId, {
      name: "Rival PV",
      countryCode: "KEN",
    });
  });
  afterAll(async () => r?.close());

  const groups = `/organizations/${"ORG"}/device-groups`;
  const url = (path = "") => groups.replace("ORG", orgId) + path;

  it("creates a group with SDG goals, adds devices, and publishes each change once", async () => {
    const created = await call("usr-owner", "POST", url(), {
      name: "East Africa schools",
      sdgBenefits: [7, 4],
      impactStory: "Power for 12 schools",
      images: ["https://example.com/school.jpg"],
      deviceIds: [devices.kenya],
    });
    expect(created.statusCode).toBe(201);
    const group = created.json();
    expect(group).toMatchObject({
      name: "East Africa schools",
      sdgBenefits: 8 + 64,
      sdgGoals: [4, 7],
      impactStory: "Power for 12 schools",
      images: ["https://example.com/school.jpg"],
      deviceIds: [devices.kenya],
    });
    expect(group.id).toMatch(/^grp-[0-9a-z]{12}$/);

    const added = await call("usr-owner", "POST", url(`/${group.id}/devices`), {
      deviceIds: [devices.nigeria, devices.kenya],
    });
    expect(added.statusCode).toBe(200);
    expect(added.json().deviceIds).toEqual([devices.kenya, devices.nigeria]);
    const read = await call("usr-viewer", "GET", url(`/${group.id}`));
    expect(read.json().deviceIds).toEqual([devices.kenya, devices.nigeria]);

    const messages = await published("registry.device-group.v1");
    const mine = messages.filter((m) => m.key === group.id);
    expect(mine.map((m) => m.type)).toEqual(["device-group.created", "device-group.updated"]);
    expect(mine[0]?.payload).toMatchObject({ groupId: group.id, orgId, deviceIds: [devices.kenya] });
    expect(mine[0]?.payload.metadata).toMatchObject({ sdgGoals: "4,7", impactStory: "Power for 12 schools" });
    expect(mine[1]?.payload.deviceIds).toEqual([devices.kenya, devices.nigeria]);
  });

  it("filters groups and a group's devices by country, fuel, off-taker and capacity", async () => {
    const solar = (
      await call("usr-owner", "POST", url(), { name: "Solar", deviceIds: [devices.kenya, devices.nigeria] })
    ).json().id;
    const hybrid = (
      await call("usr-owner", "POST", url(), { name: "Hybrid", deviceIds: [devices.diesel] })
    ).json().id;
    const empty = (await call("usr-owner", "POST", url(), { name: "Empty" })).json().id;

    const names = async (query: string) =>
      ((await call("usr-viewer", "GET", url(`?${query}`))).json().items as { id: string }[])
        .map((g) => g.id)
        .filter((id) => [solar, hybrid, empty].includes(id));
    expect(await names("")).toEqual([solar, hybrid, empty]);
    expect(await names("countryCode=NGA")).toEqual([solar, hybrid]);
    expect(await names("countryCode=KEN")).toEqual([solar]);
    expect(await names("fuelCode=ES200")).toEqual([hybrid]);
    expect(await names("offTaker=School")).toEqual([solar]);
    expect(await names("minCapacity=100")).toEqual([solar]);
    expect(await names("maxCapacity=30")).toEqual([hybrid]);
    expect(await names("minCapacity=10&maxCapacity=60")).toEqual([solar, hybrid]);
    // one device must match every filter: no NGA device of the solar group is under 100 kW
    expect(await names("countryCode=NGA&fuelCode=ES100&maxCapacity=100")).toEqual([]);

    const deviceIds = async (query: string) =>
      (
        (await call("usr-viewer", "GET", url(`/${solar}/devices?${query}`))).json().items as { id: string }[]
      ).map((d) => d.id);
    expect(await deviceIds("")).toEqual([devices.kenya, devices.nigeria]);
    expect(await deviceIds("countryCode=NGA")).toEqual([devices.nigeria]);
    expect(await deviceIds("minCapacity=10&maxCapacity=60")).toEqual([devices.kenya]);
    const inverted = await call("usr-viewer", "GET", url(`?minCapacity=10&maxCapacity=5`));
    expect(inverted.statusCode).toBe(400);
    expect(inverted.json().error.message).toMatch(/maxCapacity/);
  });

  it("refuses another organization's device (404) and lets members remove devices", async () => {
    const group = (await call("usr-owner", "POST", url(), { name: "Mixed" })).json().id;
    const foreign = await call("usr-owner", "POST", url(`/${group}/devices`), { deviceIds: [devices.rival] });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.message).toContain(devices.rival);
    const atCreate = await call("usr-owner", "POST", url(), { name: "X", deviceIds: [devices.rival] });
    expect(atCreate.statusCode).toBe(404);
    expect(await r.db.deviceGroupMember.count({ where: { deviceId: devices.rival } })).toBe(0);

    await call("usr-owner", "POST", url(`/${group}/devices`), { deviceIds: [devices.kenya] });
    const removed = await call("usr-owner", "DELETE", url(`/${group}/devices/${devices.kenya}`));
    expect(removed.statusCode).toBe(204);
    expect((await call("usr-owner", "GET", url(`/${group}`))).json().deviceIds).toEqual([]);
    expect((await call("usr-owner", "DELETE", url(`/${group}/devices/${devices.kenya}`))).statusCode).toBe(
      404,
    );
  });

  it("lets a viewer read but not write, and hides groups from another organization", async () => {
    const group = (await call("usr-owner", "POST", url(), { name: "Readable" })).json().id;
    expect((await call("usr-viewer", "GET", url(`/${group}`))).statusCode).toBe(200);
    expect((await call("usr-viewer", "POST", url(), { name: "No" })).statusCode).toBe(403);
    expect((await call("usr-viewer", "PATCH", url(`/${group}`), { name: "No" })).statusCode).toBe(403);
    expect((await call("usr-viewer", "DELETE", url(`/${group}`))).statusCode).toBe(403);
    expect(
      (await call("usr-viewer", "POST", url(`/${group}/devices`), { deviceIds: [devices.kenya] })).statusCode,
    ).toBe(403);

    expect((await call("usr-rival", "GET", url(`/${group}`))).statusCode).toBe(404);
    expect((await call("usr-rival", "GET", url())).statusCode).toBe(404);
    const theirs = `/organizations/${rivalOrg}/device-groups/${group}`;
    expect((await call("usr-rival", "GET", theirs)).statusCode).toBe(404);
  });

  it("patches and deletes a group, keeping its devices", async () => {
    const group = (await call("usr-owner", "POST", url(), { name: "Old", deviceIds: [devices.kenya] })).json()
      .id;
    const patched = await call("usr-owner", "PATCH", url(`/${group}`), { name: "New", sdgBenefits: 1 });
    expect(patched.json()).toMatchObject({
      name: "New",
      sdgBenefits: 1,
      sdgGoals: [1],
      deviceIds: [devices.kenya],
    });
    const bad = await call("usr-owner", "PATCH", url(`/${group}`), { sdgBenefits: [18] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/sdgBenefits/);
    expect((await call("usr-owner", "DELETE", url(`/${group}`))).statusCode).toBe(204);
    expect((await call("usr-owner", "GET", url(`/${group}`))).statusCode).toBe(404);
    expect(await r.db.device.count({ where: { id: devices.kenya } })).toBe(1);
    const messages = (await published("registry.device-group.v1")).filter((m) => m.key === group);
    expect(messages.map((m) => m.type)).toEqual([
      "device-group.created",
      "device-group.updated",
      "device-group.deleted",
    ]);
  });

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
});
