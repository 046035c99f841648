import { topics } from "@energy/contracts";
import { EventProducer, event } from "@energy/kafka";
import { waitFor as waitForOnce } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MeterRead, startMeterRead } from "./helpers.ts";

// meter-read learns devices, their capacity over time, sites and members from the registry's events: a
// developer's reads are checked against the capacity in force when the energy was produced.

// The consumer joins its group first: on a busy machine that alone can take tens of seconds.
const waitFor = <T>(what: string, check: () => Promise<T> | T) =>
  waitForOnce(what, check, { timeoutMs: 45_000 });

let mr: MeterRead;
let registry: EventProducer;

beforeAll(async () => {
  mr = await startMeterRead({ consumers: true });
  registry = new EventProducer(mr.kafka, { source: "registry", topicPrefix: mr.testKafka.topicPrefix });
  await registry.connect();
});
afterAll(async () => {
  await registry?.disconnect();
  await mr?.close();
});

const device = (capacityW: number) => ({
  deviceId: "dev-p",
  orgId: "org-p",
  siteId: "sit-p",
  type: "inverter" as const,
  state: "active" as const,
  name: "Roof",
  commIdentityId: null,
  externalId: "ROOF-1",
  make: null,
  model: null,
  capacityW,
  commissioningDate: "2024-01-01",
  countryCode: "SE",
  fuelCode: null,
  yieldValue: 900,
  createdAt: "2024-02-01T00:00:00.000Z",
});

describe("the registry projection", () => {
  it("lets the organization's writers submit reads checked against the capacity in force at the time", async () => {
    await registry.publishAll([
      event(topics.registryOrganization, "organization.created", {
        orgId: "org-p",
        name: "P",
        kind: "developer",
        ownerIdentityId: "usr-p",
      }),
      event(topics.registryMembership, "membership.added", {
        orgId: "org-p",
        identityId: "usr-v",
        role: "viewer",
      }),
      event(topics.registrySite, "site.created", {
        siteId: "sit-p",
        orgId: "org-p",
        name: "Home",
        address: null,
        timezone: "Asia/Tokyo",
      }),
      event(topics.registryDevice, "device.registered", device(1000), {
        occurredAt: "2024-02-01T00:00:00.000Z",
      }),
      event(topics.registryDevice, "device.updated", device(5000), {
        occurredAt: "2026-06-01T00:00:00.000Z",
      }),
    ]);
    await waitFor(
      "the capacity log",
      async () => (await mr.db.deviceCapacity.count({ where: { deviceId: "dev-p" } })) === 2,
    );
    await waitFor("the viewer", () => mr.db.membership.findFirst({ where: { identityId: "usr-v" } }));
    await waitFor("the owner", () => mr.db.membership.findFirst({ where: { identityId: "usr-p" } }));
    await waitFor("the site", () => mr.db.site.findFirst({ where: { id: "sit-p" } }));
    expect(await mr.db.device.findUnique({ where: { id: "dev-p" } })).toMatchObject({
      externalId: "ROOF-1",
      capacityW: 5000,
      yieldValue: 900,
      onboardedAt: new Date("2024-02-01T00:00:00.000Z"),
    });

    const submit = (identity: string, start: string, value: number) =>
      mr.app.inject({
        method: "POST",
        url: "/organizations/org-p/reads",
        headers: mr.auth(identity),
        payload: {
          type: "history",
          unit: "Wh",
          externalId: "ROOF-1",
          reads: [
            {
              starttimestamp: start,
              endtimestamp: new Date(Date.parse(start) + 3_600_000).toISOString(),
              value,
            },
          ],
        },
      });
    // 3,000 Wh in an hour: impossible at 1 kW (May 2026), possible at 5 kW (July 2026).
    expect((await submit("usr-p", "2026-05-01T00:00:00Z", 3000)).json().results[0].reasons[0].code).toBe(
      "above_physical_limit",
    );
    expect((await submit("usr-p", "2026-07-01T00:00:00Z", 3000)).json().results[0].status).toBe(
      "stored_with_warnings",
    );
    // Commissioned 2024-01-01 in Tokyo: 2023-12-31T15:00Z; onboarded 2024-02-01.
    expect((await submit("usr-p", "2024-01-15T00:00:00Z", 10)).json().results[0].reasons[0].code).toBe(
      "before_onboarding",
    );
    expect((await submit("usr-v", "2026-08-01T00:00:00Z", 10)).statusCode).toBe(403);
  });

  it("hides a deleted device and keeps its reads", async () => {
    await registry.publish(topics.registryDevice, "device.deleted", { deviceId: "dev-p", orgId: "org-p" });
    await waitFor(
      "the deletion",
      async () => (await mr.db.device.findUnique({ where: { id: "dev-p" } }))?.deletedAt,
    );
    const res = await mr.app.inject({
      method: "GET",
      url: "/organizations/org-p/devices/dev-p/reads",
      headers: mr.auth("usr-p"),
    });
    expect(res.statusCode).toBe(404);
    expect(await mr.db.meterRead.count({ where: { deviceId: "dev-p" } })).toBe(1);
  });
});
