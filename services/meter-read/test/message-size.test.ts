import { topics } from "@energy/contracts";
import { readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hourly, type MeterRead, seedDevice, startMeterRead } from "./helpers.ts";

// Counted reads go out up to 1,000 per message; a broker that takes smaller messages gets more of them,
// every read still published once.

let mr: MeterRead;
const LIMIT = 70_000;

beforeAll(async () => {
  mr = await startMeterRead({ env: { KAFKA_MAX_MESSAGE_BYTES: String(LIMIT) } });
  await seedDevice(mr.db, { orgId: "org-m", deviceId: "dev-m", members: { "usr-owner": "owner" } });
});
afterAll(async () => {
  await mr?.close();
});

describe("meter-read.read.v1 message size", () => {
  it("splits a device's counted reads into messages under KAFKA_MAX_MESSAGE_BYTES, all of them published", async () => {
    const res = await mr.app.inject({
      method: "POST",
      url: "/organizations/org-m/reads",
      headers: mr.auth("usr-owner"),
      payload: {
        type: "history",
        unit: "Wh",
        deviceId: "dev-m",
        reads: hourly("2026-10-01T00:00:00Z", 250, () => 10),
      },
    });
    expect(res.json().stored).toBe(250);
    const messages = await readTopic(mr.kafka, `${mr.testKafka.topicPrefix}${topics.meterReadRead.name}`, {
      count: 3,
    });
    const reads = messages.map((m) => JSON.parse(m.value!).reads as Array<{ end: string }>);
    expect(reads.map((r) => r.length)).toEqual([100, 100, 50]);
    expect(new Set(reads.flat().map((r) => r.end)).size).toBe(250);
    for (const m of messages) expect(Buffer.byteLength(m.value!)).toBeLessThan(LIMIT);
  });
});
