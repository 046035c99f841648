import { type AnyTopic, type Device, type Interval, topics } from "@energy/contracts";
import { createEnvelope, envelopeToHeaders } from "@energy/kafka";
import { describePoisonedMessages, type PoisonCase } from "@energy/testing/poison";
import { afterAll, beforeAll } from "vitest";
import { type MeterRead, seedDevice, startMeterRead } from "./helpers.ts";

// Hostile messages on every topic meter-read consumes: not JSON, the wrong types, a NUL where PostgreSQL
// takes no NUL. Each goes to the topic's DLQ with the reason, and the valid message behind it (same key,
// same partition) is applied all the same.

let mr: MeterRead;

beforeAll(async () => {
  mr = await startMeterRead({ consumers: true });
  await seedDevice(mr.db, { orgId: "org-z", deviceId: "dev-z", capacityW: 6000 });
});
afterAll(async () => {
  await mr?.close();
});

const device = (deviceId: string): Device => ({
  deviceId,
  orgId: "org-z",
  siteId: "sit-z",
  type: "inverter",
  state: "active",
  name: "Roof",
  commIdentityId: null,
  externalId: null,
  make: null,
  model: null,
  capacityW: 1000,
  commissioningDate: "2024-01-01",
  countryCode: "SE",
  fuelCode: null,
  yieldValue: null,
  createdAt: "2024-02-01T00:00:00.000Z",
});
const interval = (derId: string): Interval => ({
  derId,
  deviceId: "dev-z",
  orgId: "org-z",
  derType: "solar",
  intervalStart: "2026-11-20T10:00:00.000Z",
  intervalEnd: "2026-11-20T10:30:00.000Z",
  generationWh: 100,
  importWh: null,
  exportWh: null,
  chargeWh: null,
  dischargeWh: null,
  readingCount: 30,
});

const cases: PoisonCase<AnyTopic>[] = [
  {
    topic: topics.registryOrganization,
    type: "organization.created",
    key: "org-o",
    wrongTypes: { orgId: 42, name: ["P"], kind: "developer", ownerIdentityId: null },
    nul: { orgId: "org-o\u0000", name: "P", kind: "developer", ownerIdentityId: "usr-\u0000" },
    valid: { orgId: "org-o", name: "P", kind: "developer", ownerIdentityId: "usr-o" },
    applied: () => mr.db.membership.findFirst({ where: { orgId: "org-o", identityId: "usr-o" } }),
  },
  {
    topic: topics.registryMembership,
    type: "membership.added",
    key: "org-m",
    wrongTypes: { orgId: "org-m", identityId: "usr-m", role: 7 },
    nul: { orgId: "org-m", identityId: "usr-\u0000m", role: "viewer" },
    valid: { orgId: "org-m", identityId: "usr-m", role: "viewer" },
    applied: () => mr.db.membership.findFirst({ where: { orgId: "org-m", identityId: "usr-m" } }),
  },
  {
    topic: topics.registrySite,
    type: "site.created",
    key: "sit-s",
    wrongTypes: { siteId: "sit-s", orgId: "org-z", name: "Home", address: null, timezone: 1 },
    nul: { siteId: "sit-s", orgId: "org-z\u0000", name: "Home", address: null, timezone: "UTC" },
    valid: { siteId: "sit-s", orgId: "org-z", name: "Home", address: null, timezone: "UTC" },
    applied: () => mr.db.site.findUnique({ where: { id: "sit-s" } }),
  },
  {
    topic: topics.registryDevice,
    type: "device.registered",
    key: "dev-d",
    wrongTypes: { ...device("dev-d"), capacityW: "1000" },
    nul: device("dev-d\u0000"),
    valid: device("dev-d"),
    applied: () => mr.db.device.findUnique({ where: { id: "dev-d" } }),
  },
  {
    topic: topics.ingestionInterval,
    type: "interval.computed",
    key: "der-i",
    wrongTypes: { ...interval("der-i"), generationWh: "100" },
    nul: interval("der-\u0000i"),
    valid: interval("der-i"),
    applied: () => mr.db.meterRead.findFirst({ where: { deviceId: "dev-z", source: "telemetry" } }),
  },
];

describePoisonedMessages("the topics meter-read consumes", {
  kafka: () => mr.testKafka,
  cases,
  envelopeHeaders: (type, source) => envelopeToHeaders(createEnvelope({ type, source })),
});
