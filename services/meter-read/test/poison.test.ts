import { type AnyTopic, type Device, type Interval, topics } from "@energy/contracts";
import { createEnvelope, envelopeToHeaders } from "@energy/kafka";
import { readTopic, waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MeterRead, seedDevice, startMeterRead } from "./helpers.ts";

// Hostile messages on every topic meter-read consumes: not JSON, the wrong types, a NUL where PostgreSQL
// takes no NUL. Each goes to the topic's DLQ with the reason, and the valid message behind it (same key,
// same partition) is applied all the same.

let mr: MeterRead;
let raw: ReturnType<MeterRead["testKafka"]["kafka"]["producer"]>;

beforeAll(async () => {
  mr = await startMeterRead({ consumers: true });
  raw = mr.testKafka.kafka.producer();
  await raw.connect();
  await seedDevice(mr.db, { orgId: "org-z", deviceId: "dev-z", capacityW: 6000 });
});
afterAll(async () => {
  await raw?.disconnect();
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

interface Case {
  topic: AnyTopic;
  type: string;
  key: string;
  wrongTypes: unknown;
  nul: unknown;
  valid: unknown;
  applied: () => Promise<unknown>;
}

const cases: Case[] = [
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

describe("poisoned messages on the topics meter-read consumes", () => {
  it.each(cases.map((c) => [c.topic.name, c] as const))(
    "%s: invalid JSON, wrong types and a NUL go to the DLQ with a reason; the valid message behind them is applied",
    { timeout: 90_000 },
    async (_name, c) => {
      const headers = () => envelopeToHeaders(createEnvelope({ type: c.type, source: c.topic.owner }));
      await raw.send({
        topic: `${mr.testKafka.topicPrefix}${c.topic.name}`,
        messages: [
          { key: c.key, value: '{"not json', headers: headers() },
          { key: c.key, value: JSON.stringify(c.wrongTypes), headers: headers() },
          { key: c.key, value: JSON.stringify(c.nul), headers: headers() },
          { key: c.key, value: JSON.stringify(c.valid), headers: headers() },
        ],
      });
      await waitFor(`the valid ${c.type}`, c.applied, { timeoutMs: 60_000 });
      const dead = await readTopic(mr.testKafka.kafka, `${mr.testKafka.topicPrefix}${c.topic.name}.dlq`, {
        count: 3,
      });
      expect(dead).toHaveLength(3);
      for (const m of dead) {
        expect(m.key).toBe(c.key);
        expect(m.headers["dlq-error"]).toBeTruthy();
        expect(m.headers["dlq-origin-topic"]).toBe(`${mr.testKafka.topicPrefix}${c.topic.name}`);
      }
      expect(dead[0]!.headers["dlq-error"]).toMatch(/JSON/);
      expect(dead[1]!.headers["dlq-error"]).toMatch(/invalid|expected/i);
      expect(dead[2]!.headers["dlq-error"]).toMatch(/0x00|NUL/);
    },
  );
});
