import { type Interval, topics } from "@energy/contracts";
import { EventProducer, event } from "@energy/kafka";
import { readTopic, waitFor as waitForOnce } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MeterRead, seedDevice, startMeterRead } from "./helpers.ts";

// A device whose solar DERs report through ingestion gets its reads from ingestion.interval.v1; a corrected
// interval corrects the read (a new version, the old kept) and reservation hears of the correction.

// The consumer joins its group first: on a busy machine that alone can take tens of seconds.
const waitFor = <T>(what: string, check: () => Promise<T> | T) =>
  waitForOnce(what, check, { timeoutMs: 45_000 });

let mr: MeterRead;
let ingestion: EventProducer;

beforeAll(async () => {
  mr = await startMeterRead({ consumers: true });
  ingestion = new EventProducer(mr.kafka, { source: "ingestion", topicPrefix: mr.testKafka.topicPrefix });
  await ingestion.connect();
  await seedDevice(mr.db, { orgId: "org-t", deviceId: "dev-t", capacityW: 6000 });
  await seedDevice(mr.db, { orgId: "org-t", deviceId: "dev-api", capacityW: 6000 });
});
afterAll(async () => {
  await ingestion?.disconnect();
  await mr?.close();
});

const START = "2026-11-20T10:00:00.000Z";
const END = "2026-11-20T10:30:00.000Z";
const interval = (
  derId: string,
  deviceId: string,
  derType: Interval["derType"],
  generationWh: number | null,
): Interval => ({
  derId,
  deviceId,
  orgId: "org-t",
  derType,
  intervalStart: START,
  intervalEnd: END,
  generationWh,
  importWh: null,
  exportWh: derType === "meter" ? 500 : null,
  chargeWh: null,
  dischargeWh: derType === "battery" ? 700 : null,
  readingCount: 30,
});
const readOf = (deviceId: string) =>
  mr.db.meterRead.findUnique({ where: { deviceId_endAt: { deviceId, endAt: new Date(END) } } });

describe("reads from ingestion intervals", () => {
  it("sums a device's solar generation per half-hour into one telemetry read, in whole Wh", async () => {
    await ingestion.publishAll([
      event(topics.ingestionInterval, "interval.computed", interval("der-pv1", "dev-t", "solar", 1200.7)),
      event(topics.ingestionInterval, "interval.computed", interval("der-bat", "dev-t", "battery", null)),
      event(topics.ingestionInterval, "interval.computed", interval("der-m", "dev-t", "meter", null)),
    ]);
    const read = await waitFor("the telemetry read", () => readOf("dev-t"));
    expect(read).toMatchObject({ source: "telemetry", readType: "history", energyWh: 1200n, version: 1 });
    expect(read.startAt?.toISOString()).toBe(START);
  });

  it("corrects the read when an interval is corrected, keeps the old version and publishes the correction", async () => {
    await ingestion.publish(
      topics.ingestionInterval,
      "interval.corrected",
      interval("der-pv1", "dev-t", "solar", 1500.2),
    );
    const read = await waitFor("the corrected read", async () => {
      const r = await readOf("dev-t");
      return r?.version === 2 ? r : null;
    });
    expect(read.energyWh).toBe(1500n);
    const old = await mr.db.meterReadVersion.findMany({ where: { deviceId: "dev-t" } });
    expect(old.map((o) => [o.version, o.energyWh])).toEqual([[1, 1200n]]);

    const messages = await readTopic(mr.kafka, `${mr.testKafka.topicPrefix}${topics.meterReadRead.name}`, {
      count: 2,
    });
    const types = messages.map((m) => JSON.parse(m.headers.envelope!).type);
    expect(types).toEqual(["reads.recorded", "reads.corrected"]);
    const corrected = JSON.parse(messages[1]!.value!).reads[0];
    expect(corrected).toMatchObject({
      version: 2,
      energyWh: 1500,
      previousEnergyWh: 1200,
      source: "telemetry",
    });
    expect(corrected.readId).toBe(JSON.parse(messages[0]!.value!).reads[0].readId);
  });

  it("adds a second solar DER's generation to the same half-hour as a new version", async () => {
    await ingestion.publish(
      topics.ingestionInterval,
      "interval.computed",
      interval("der-pv2", "dev-t", "solar", 300),
    );
    const read = await waitFor("the summed read", async () => {
      const r = await readOf("dev-t");
      return r?.version === 3 ? r : null;
    });
    expect(read.energyWh).toBe(1800n);
    // The day rollup followed both corrections: one read, its latest energy.
    expect(await mr.db.meterReadDay.findMany({ where: { deviceId: "dev-t" } })).toMatchObject([
      { energyWh: 1800n, reads: 1 },
    ]);
  });

  it("keeps intervals of a device whose reads come from the API as refused reads", async () => {
    const res = await mr.app.inject({
      method: "POST",
      url: "/organizations/org-t/reads",
      headers: mr.auth("root", "root"),
      payload: {
        type: "history",
        unit: "Wh",
        deviceId: "dev-api",
        reads: [{ starttimestamp: "2026-11-19T00:00:00Z", endtimestamp: "2026-11-19T01:00:00Z", value: 10 }],
      },
    });
    expect(res.json().stored).toBe(1);
    await ingestion.publish(
      topics.ingestionInterval,
      "interval.computed",
      interval("der-x", "dev-api", "solar", 100),
    );
    const refused = await waitFor("the refused interval", () =>
      mr.db.refusedRead.findFirst({ where: { deviceId: "dev-api" } }),
    );
    expect(refused).toMatchObject({ source: "telemetry" });
    expect(JSON.stringify(refused.reasons)).toContain("source_mismatch");
    expect(await readOf("dev-api")).toBeNull();
  });

  it("counts the intervals of a device switched to telemetry from the switch on, and refuses its API reads", async () => {
    const root = mr.auth("root", "root");
    const url = "/organizations/org-t/devices/dev-api/read-source";
    const put = await mr.app.inject({
      method: "PUT",
      url,
      headers: root,
      payload: { source: "telemetry", from: START },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({
      initialSource: "api",
      switches: [{ source: "telemetry", from: START }],
    });

    await ingestion.publish(
      topics.ingestionInterval,
      "interval.computed",
      interval("der-x", "dev-api", "solar", 120),
    );
    const read = await waitFor("the telemetry read after the switch", () => readOf("dev-api"));
    expect(read).toMatchObject({ source: "telemetry", energyWh: 120n });

    const api = await mr.app.inject({
      method: "POST",
      url: "/organizations/org-t/reads",
      headers: root,
      payload: {
        type: "history",
        unit: "Wh",
        deviceId: "dev-api",
        reads: [
          { starttimestamp: "2026-11-20T11:00:00Z", endtimestamp: "2026-11-20T12:00:00Z", value: 10 },
          { starttimestamp: "2026-11-19T01:00:00Z", endtimestamp: "2026-11-19T02:00:00Z", value: 10 },
        ],
      },
    });
    // After the switch the API's reads are refused; before it the API is still the device's source.
    expect(api.json().results.map((r: { status: string }) => r.status)).toEqual(["refused", "stored"]);
    expect(api.json().results[0].reasons[0]).toMatchObject({ code: "source_mismatch", field: "source" });
  });
});
