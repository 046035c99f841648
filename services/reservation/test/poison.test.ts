import { randomUUID } from "node:crypto";
import { type AnyTopic, type Device, topics } from "@energy/contracts";
import { type ConsumerRunner, createEnvelope, envelopeToHeaders } from "@energy/kafka";
import { describePoisonedMessages, type PoisonCase } from "@energy/testing/poison";
import { afterAll, beforeAll } from "vitest";
import { countedRead, hoursAgo, type Service, startReservation } from "./helpers.ts";

// Hostile messages on every topic the reservation consumes: not JSON, the wrong types, a NUL where
// PostgreSQL takes no NUL. Each goes to the topic's DLQ with the reason, and the valid message behind it
// (same key, same partition) is applied all the same.

let svc: Service;
const processed = (group: string) =>
  (svc.runner(group) as ConsumerRunner<unknown, unknown>).stats().processed;

beforeAll(async () => {
  svc = await startReservation({}, { consumers: true });
});
afterAll(async () => {
  await svc?.close();
});

const device = (deviceId: string): Device => ({
  deviceId,
  orgId: "org-dev",
  siteId: "sit-dev",
  type: "inverter",
  state: "active",
  name: "Roof",
  commIdentityId: null,
  externalId: null,
  make: null,
  model: null,
  capacityW: 1000,
  commissioningDate: "2024-01-01",
  countryCode: "IND",
  fuelCode: null,
  yieldValue: null,
  createdAt: "2024-02-01T00:00:00.000Z",
});
const read = (readId: string) => countedRead(readId, hoursAgo(2), hoursAgo(1), 1_000);
const issued = (requestId: string) => ({
  certificateId: randomUUID(),
  requestId,
  reservationId: "rsv-p",
  tokenId: "1",
  txHash: `0x${"ab".repeat(32)}`,
  chainId: 31337,
  blockNumber: 7,
  ownerAddress: `0x${"12".repeat(20)}`,
  energyWh: 1_000,
  documentHash: `0x${"cd".repeat(32)}`,
});

const cases: PoisonCase<AnyTopic>[] = [
  {
    topic: topics.registryOrganization,
    type: "organization.created",
    key: "org-o",
    wrongTypes: { orgId: "org-o", name: 5, kind: "buyer", ownerIdentityId: "usr-o" },
    nul: { orgId: "org-o", name: "P\u0000", kind: "buyer", ownerIdentityId: "usr-o" },
    valid: { orgId: "org-o", name: "P", kind: "buyer", ownerIdentityId: "usr-o" },
    applied: () => svc.db.organization.findUnique({ where: { id: "org-o" } }),
  },
  {
    topic: topics.registryMembership,
    type: "membership.added",
    key: "org-m",
    wrongTypes: { orgId: "org-m", identityId: ["usr-m"], role: "viewer" },
    nul: { orgId: "org-m", identityId: "usr-\u0000", role: "viewer" },
    valid: { orgId: "org-m", identityId: "usr-m", role: "viewer" },
    applied: () => svc.db.membership.findFirst({ where: { orgId: "org-m", identityId: "usr-m" } }),
  },
  {
    topic: topics.registryDevice,
    type: "device.registered",
    key: "dev-d",
    wrongTypes: { ...device("dev-d"), state: 3 },
    nul: { ...device("dev-d"), name: "Roof\u0000" },
    valid: device("dev-d"),
    applied: () => svc.db.device.findUnique({ where: { id: "dev-d" } }),
  },
  {
    topic: topics.meterReadRead,
    type: "reads.recorded",
    key: "dev-r",
    wrongTypes: { deviceId: "dev-r", orgId: "org-dev", reads: [{ ...read("mrd-w"), energyWh: "1000" }] },
    nul: { deviceId: "dev-r", orgId: "org-dev", reads: [read("mrd-\u0000")] },
    valid: { deviceId: "dev-r", orgId: "org-dev", reads: [read("mrd-ok")] },
    applied: () => svc.db.meterRead.findUnique({ where: { readId: "mrd-ok" } }),
  },
  {
    topic: topics.certificateCertificate,
    type: "certificate.issued",
    key: "rsv-p",
    wrongTypes: { ...issued(randomUUID()), blockNumber: "7" },
    nul: { ...issued(randomUUID()), tokenId: "1\u0000" },
    // a result for a request the reservation does not know changes nothing; it is consumed, not stuck
    valid: issued("req-not-a-uuid"),
    before: () => processed("projections"),
    applied: (before) => processed("projections") > before,
  },
];

describePoisonedMessages("the topics the reservation consumes", {
  kafka: () => svc.testKafka,
  cases,
  envelopeHeaders: (type, source) => envelopeToHeaders(createEnvelope({ type, source })),
  nulReason: /0x00|NUL|invalid/,
});
