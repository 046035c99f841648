import { createHash } from "node:crypto";
import { ReadsRecordedSchema, topics } from "@energy/contracts";
import { readTopic } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hourly, type MeterRead, seedDevice, startMeterRead } from "./helpers.ts";

// What reservation receives for new reads: reads.recorded messages the database writes from the stored rows
// (src/reads/store.ts). Each one holds to the contract exactly, as compact JSON, up to 320 reads of one
// device in order of end, with the flags, hashes and ids of the answer.

let mr: MeterRead;
// A device id JSON has to escape: the database quotes it.
const DEVICE = 'dev-"quoted\\one"';

beforeAll(async () => {
  mr = await startMeterRead();
  await seedDevice(mr.db, { orgId: "org-p", deviceId: DEVICE, members: { "usr-owner": "owner" } });
});
afterAll(async () => {
  await mr?.close();
});

describe("reads.recorded on meter-read.read.v1", () => {
  it("publishes every counted read once, to the contract, in messages of 1,000 in order of end", async () => {
    const fourYearsBack = new Date();
    fourYearsBack.setUTCFullYear(fourYearsBack.getUTCFullYear() - 4);
    const old = hourly(`${fourYearsBack.toISOString().slice(0, 13)}:00:00Z`, 1, () => 100);
    // 10 kW: 5 kWh in an hour is above an average year's yield (stored, flagged), under the nameplate.
    const reads = [...old, ...hourly("2026-01-01T00:00:00Z", 1200, (i) => (i === 7 ? 5000 : (i % 900) + 1))];
    const res = await mr.app.inject({
      method: "POST",
      url: "/organizations/org-p/reads",
      headers: mr.auth("usr-owner"),
      payload: { type: "history", unit: "Wh", deviceId: DEVICE, reads },
    });
    expect(res.statusCode).toBe(200);
    const answer = res.json() as {
      stored: number;
      results: Array<{ readId: string; energyWh: number; warnings: Array<{ code: string }> }>;
    };
    expect(answer.stored).toBe(1201);

    const messages = await readTopic(mr.kafka, `${mr.testKafka.topicPrefix}${topics.meterReadRead.name}`, {
      count: 4,
    });
    expect(messages.map((m) => m.key)).toEqual([DEVICE, DEVICE, DEVICE, DEVICE]);
    // each message under 128 KB (store.ts: MAX_READS_PER_MESSAGE), so decoding it never makes a V8 large object
    for (const m of messages) expect(Buffer.byteLength(m.value!)).toBeLessThan(128 * 1024);
    const payloads = messages.map((m) => {
      const payload = JSON.parse(m.value!);
      // compact JSON, as JSON.stringify writes it, and nothing the contract does not name
      expect(m.value).toBe(JSON.stringify(payload));
      expect(ReadsRecordedSchema.parse(payload)).toEqual(payload);
      const envelope = JSON.parse(m.headers.envelope!);
      expect(envelope).toMatchObject({ type: "reads.recorded", schemaVersion: 1, source: "meter-read" });
      expect(envelope.occurredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      return payload as { deviceId: string; orgId: string; reads: Array<Record<string, unknown>> };
    });
    expect(payloads.map((p) => [p.deviceId, p.orgId, p.reads.length])).toEqual([
      [DEVICE, "org-p", 320],
      [DEVICE, "org-p", 320],
      [DEVICE, "org-p", 320],
      [DEVICE, "org-p", 241],
    ]);
    const published = payloads.flatMap((p) => p.reads);
    const recordedAt = published[0]!.recordedAt as string;
    expect(recordedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(published).toEqual(
      reads.map((read, i) => {
        const start = new Date(read.starttimestamp).toISOString();
        const end = new Date(read.endtimestamp).toISOString();
        const result = answer.results[i]!;
        return {
          readId: result.readId,
          version: 1,
          readType: "history",
          source: "api",
          start,
          end,
          energyWh: read.value,
          valueWh: read.value,
          eligible: i !== 0,
          flags: result.warnings.map((w) => w.code),
          contentHash: createHash("sha256")
            .update(`${DEVICE}|${start}|${end}|${read.value}|api`)
            .digest("hex"),
          recordedAt,
        };
      }),
    );
    expect(published[0]!.flags).toEqual(["older_than_3_years"]);
    expect(published[8]!.flags).toEqual(["above_yield_expectation"]);
  });
});
