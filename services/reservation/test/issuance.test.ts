import { randomUUID } from "node:crypto";
import { type CorrectedRead, type CountedRead, type IssuanceRequest, topics } from "@energy/contracts";
import { EventProducer } from "@energy/kafka";
import { readTopic, waitFor } from "@energy/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  countedRead,
  HOUR,
  hoursAgo,
  issuanceRecords,
  requestsIn,
  reservationBody,
  type Service,
  seedDevices,
  seedOrg,
  startReservation,
} from "./helpers.ts";

// Reads come from meter-read over the real broker; issuance passes run as the service's loop runs them.

let svc: Service;
let meterRead: EventProducer;
let certificate: EventProducer;
const BUYER = "org-buyer";
let readCount = 0;

beforeAll(async () => {
  svc = await startReservation({}, { consumers: true });
  await seedOrg(svc.db, BUYER, "buyer", { "usr-buyer": "admin" });
  await seedOrg(svc.db, "org-dev", "developer");
  await seedDevices(
    svc.db,
    "org-dev",
    Array.from({ length: 20 }, (_, i) => `dev-${i}`),
  );
  const prefix = { topicPrefix: svc.testKafka.topicPrefix };
  meterRead = new EventProducer(svc.kafka, { source: "meter-read", ...prefix });
  certificate = new EventProducer(svc.kafka, { source: "certificate", ...prefix });
  await Promise.all([meterRead.connect(), certificate.connect()]);
});
afterAll(async () => {
  await meterRead?.disconnect();
  await certificate?.disconnect();
  await svc?.close();
});

/** Publishes new reads of one device (reads.recorded) and waits until the service has stored them. */
async function sendReads(deviceId: string, reads: CountedRead[]) {
  await meterRead.publish(topics.meterReadRead, "reads.recorded", { deviceId, orgId: "org-dev", reads });
  await readsStored(deviceId, reads);
}

/** Publishes corrections of one device (reads.corrected) and, when `stored`, waits until the service has them. */
async function sendCorrections(deviceId: string, reads: CorrectedRead[], stored = true) {
  await meterRead.publish(topics.meterReadRead, "reads.corrected", { deviceId, orgId: "org-dev", reads });
  if (stored) await readsStored(deviceId, reads);
}

async function readsStored(deviceId: string, reads: CountedRead[]) {
  await waitFor(`${reads.length} reads of ${deviceId} stored`, async () => {
    const stored = await svc.db.meterRead.findMany({ where: { readId: { in: reads.map((r) => r.readId) } } });
    return (
      stored.length === reads.length &&
      stored.every((s, _i) => reads.find((r) => r.readId === s.readId)!.version === s.version)
    );
  });
}

/** An hourly read of hour `h` hours ago (its end is the start of the next hour). */
const hourRead = (deviceId: string, h: number, energyWh: number) =>
  countedRead(`mrd-${deviceId}-${h}-${++readCount}`, hoursAgo(h), hoursAgo(h - 1), energyWh);

/** The next version of a read, as meter-read publishes a correction. */
const correction = (read: CountedRead, energyWh: number): CorrectedRead => ({
  ...read,
  version: read.version + 1,
  energyWh,
  contentHash: `${"c".repeat(63)}${read.version + 1}`,
  previousEnergyWh: read.energyWh,
  previousContentHash: read.contentHash,
});

async function reserve(deviceIds: string[], overrides: Record<string, unknown> = {}) {
  const res = await svc.app.inject({
    method: "POST",
    url: `/organizations/${BUYER}/reservations`,
    headers: svc.auth("usr-buyer"),
    payload: reservationBody(deviceIds, overrides),
  });
  expect(res.statusCode).toBe(201);
  return res.json().id as string;
}

const windowsOf = (reservationId: string) =>
  svc.db.issuanceWindow.findMany({
    where: { reservationId },
    orderBy: [{ windowStart: "asc" }, { version: "asc" }],
  });
const warningsOf = async (reservationId: string) =>
  (await svc.db.reservationWarning.findMany({ where: { reservationId }, orderBy: { id: "asc" } })).map(
    (w) => w.code,
  );

/** The requests of a reservation on the topic, once the relay has published every request made so far. */
async function publishedRequests(reservationId: string, count: number): Promise<IssuanceRequest[]> {
  await waitFor(
    "the outbox sent",
    async () => (await svc.db.outboxMessage.count({ where: { sentAt: null } })) === 0,
  );
  const messages = await readTopic(
    svc.kafka,
    `${svc.testKafka.topicPrefix}${topics.reservationIssuanceRequest.name}`,
    {
      count: await issuanceRecords(svc.db),
    },
  );
  const mine = requestsIn(messages).filter((r) => r.reservationId === reservationId);
  expect(mine).toHaveLength(count);
  return mine;
}

describe("issuance requests", () => {
  it("requests every past window at once, one request per window with the reads it was made from", async () => {
    await sendReads("dev-0", [
      hourRead("dev-0", 3, 1_500),
      hourRead("dev-0", 2, 1_600),
      hourRead("dev-0", 1, 1_700),
    ]);
    await sendReads("dev-1", [hourRead("dev-1", 3, 2_000), hourRead("dev-1", 1, 2_100)]);
    const id = await reserve(["dev-0", "dev-1"], { reservationStartDate: hoursAgo(3).toISOString() });
    expect(await svc.issue()).toBe(3);
    expect(await svc.issue()).toBe(0); // a re-run requests nothing twice

    const requests = await publishedRequests(id, 3);
    expect(requests.map((r) => [r.window.start, r.energyWh, r.version])).toEqual([
      [hoursAgo(3).toISOString(), 3_500, 1],
      [hoursAgo(2).toISOString(), 1_600, 1],
      [hoursAgo(1).toISOString(), 3_800, 1],
    ]);
    const first = requests[0]!;
    expect(first.idempotencyKey).toBe(`${id}:${hoursAgo(3).toISOString()}:v1`);
    expect(first.buyerAddress).toBe("0x410CB6672F7ebE397F866fC2CE1020cB18Ac6C5F");
    expect(first.contributions.map((c) => [c.deviceId, c.energyWh, c.reads.length])).toEqual([
      ["dev-0", 1_500, 1],
      ["dev-1", 2_000, 1],
    ]);
    expect(first.contributions[0]!.reads[0]).toMatchObject({ version: 1, late: false, energyWh: 1_500 });
    // dev-1 sent nothing for the middle hour: a warning, not an error.
    expect(await warningsOf(id)).toEqual(["no_data"]);
    const view = await svc.app.inject({
      method: "GET",
      url: `/organizations/${BUYER}/reservations/${id}/windows`,
      headers: svc.auth("usr-buyer"),
    });
    expect(view.json().windows.map((w: { energyWh: number }) => w.energyWh)).toEqual([3_500, 1_600, 3_800]);
  });

  it("puts late reads into a later request marked late, and reports corrections that come too late", async () => {
    const early = hourRead("dev-2", 2, 1_200);
    await sendReads("dev-2", [early]);
    const id = await reserve(["dev-2"], { reservationStartDate: hoursAgo(2).toISOString() });
    expect(await svc.issue()).toBe(1); // hour -2; hour -1 had no data yet

    const late = hourRead("dev-2", 1, 1_300);
    const alsoLate = countedRead(
      `mrd-late-${++readCount}`,
      hoursAgo(2),
      new Date(hoursAgo(2).getTime() + HOUR / 2),
      1_100,
    );
    await sendReads("dev-2", [late, alsoLate]);
    expect(await svc.issue()).toBe(2);
    const windows = await windowsOf(id);
    expect(windows.map((w) => [w.windowStart.toISOString(), w.version, Number(w.energyWh), w.late])).toEqual([
      [hoursAgo(2).toISOString(), 1, 1_200, false],
      [hoursAgo(2).toISOString(), 2, 1_100, true],
      [hoursAgo(1).toISOString(), 1, 1_300, true],
    ]);

    // A correction of a read already requested is reported; the request stands.
    await sendCorrections("dev-2", [correction(early, 1_250)], false);
    await waitFor("the late correction reported", async () =>
      (await warningsOf(id)).includes("correction_too_late"),
    );
    expect(await svc.issue()).toBe(0);
    expect(Number((await windowsOf(id))[0]!.energyWh)).toBe(1_200);
  });

  it("a correction that arrives while a pass claims its read is reported, not applied to the request", async () => {
    const id = await reserve(["dev-19"], { reservationStartDate: hoursAgo(3).toISOString() });
    const read = hourRead("dev-19", 3, 2_000);
    await sendReads("dev-19", [read]);
    // an issuance pass in the middle of claiming the read: the row is claimed and locked, not yet committed
    await svc.db.$transaction(
      async (tx) => {
        await tx.$executeRawUnsafe(
          "UPDATE meter_read SET reservation_id = $1, request_id = $2::uuid, claimed_wh = energy_wh WHERE read_id = $3",
          id,
          randomUUID(),
          read.readId,
        );
        await sendCorrections("dev-19", [correction(read, 2_600)], false);
        await waitFor("the correction waiting for the pass's lock", async () => {
          const [row] = await svc.db.$queryRawUnsafe<Array<{ n: number }>>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
          );
          return row!.n > 0;
        });
      },
      { timeout: 60_000 },
    );
    await waitFor("the correction handled", async () => {
      const row = await svc.db.meterRead.findUnique({ where: { readId: read.readId } });
      return row!.version > read.version || (await warningsOf(id)).includes("correction_too_late");
    });
    const row = await svc.db.meterRead.findUnique({ where: { readId: read.readId } });
    expect(Number(row!.energyWh)).toBe(2_000);
    expect(await warningsOf(id)).toContain("correction_too_late");
  });

  it("corrects what is not yet requested", async () => {
    const id = await reserve(["dev-3"], { reservationStartDate: hoursAgo(1).toISOString() });
    const read = countedRead(
      `mrd-now-${++readCount}`,
      hoursAgo(0),
      new Date(hoursAgo(0).getTime() + HOUR / 2),
      900,
    );
    await sendReads("dev-3", [read]);
    await sendCorrections("dev-3", [correction(read, 1_900)]);
    await svc.issue(new Date(hoursAgo(-1).getTime() + 1)); // after the current hour closed
    const windows = await windowsOf(id);
    expect(windows.map((w) => Number(w.energyWh))).toEqual([1_900]);
  });

  it("carries energy below the minimum certificate size into the next window", async () => {
    await sendReads("dev-4", [
      hourRead("dev-4", 3, 400),
      hourRead("dev-4", 2, 400),
      hourRead("dev-4", 1, 400),
    ]);
    const id = await reserve(["dev-4"], { reservationStartDate: hoursAgo(3).toISOString() });
    expect(await svc.issue()).toBe(1);
    const [window] = await windowsOf(id);
    expect(window).toMatchObject({ windowStart: hoursAgo(1), energyWh: 1_200n, carriedOverWh: 800n });
    const [request] = await publishedRequests(id, 1);
    expect(request!.contributions[0]!.reads.map((r) => r.energyWh)).toEqual([400, 400, 400]);
  });

  it("stops at the target without authority to exceed; the rest stays unclaimed", async () => {
    await sendReads("dev-5", [
      hourRead("dev-5", 3, 1_500),
      hourRead("dev-5", 2, 1_500),
      hourRead("dev-5", 1, 1_500),
    ]);
    const id = await reserve(["dev-5"], {
      reservationStartDate: hoursAgo(3).toISOString(),
      targetVolumeInMegaWattHour: 0.0025,
      authorityToExceed: false,
    });
    expect(await svc.issue()).toBe(2);
    const windows = await windowsOf(id);
    expect(windows.map((w) => [Number(w.energyWh), w.capped])).toEqual([
      [1_500, false],
      [1_000, true],
    ]);
    const r = await svc.db.reservation.findUniqueOrThrow({ where: { id } });
    expect(r).toMatchObject({ status: "ended", endReason: "target_reached", requestedWh: 2_500n });
    expect(await warningsOf(id)).toContain("target_reached");
    const unclaimed = await svc.db.meterRead.count({ where: { deviceId: "dev-5", reservationId: null } });
    expect(unclaimed).toBe(1);
  });

  it("goes past the target with authority to exceed and tells the buyer", async () => {
    await sendReads("dev-6", [
      hourRead("dev-6", 3, 1_500),
      hourRead("dev-6", 2, 1_500),
      hourRead("dev-6", 1, 1_500),
    ]);
    const id = await reserve(["dev-6"], {
      reservationStartDate: hoursAgo(3).toISOString(),
      targetVolumeInMegaWattHour: 0.0025,
      authorityToExceed: true,
    });
    expect(await svc.issue()).toBe(3);
    const r = await svc.db.reservation.findUniqueOrThrow({ where: { id } });
    expect(r).toMatchObject({ status: "active", requestedWh: 4_500n });
    expect((await warningsOf(id)).filter((c) => c === "target_exceeded")).toHaveLength(1);
  });

  it("counts a read for one reservation only, ever", async () => {
    await sendReads("dev-7", [hourRead("dev-7", 2, 1_500)]);
    const first = await reserve(["dev-7"], { reservationStartDate: hoursAgo(2).toISOString() });
    await svc.issue();
    await svc.app.inject({
      method: "DELETE",
      url: `/organizations/${BUYER}/reservations/${first}`,
      headers: svc.auth("usr-buyer"),
    });
    await svc.db.deviceLock.update({
      where: { deviceId: "dev-7" },
      data: { lockedUntil: new Date(Date.now() - 1) },
    });
    const second = await reserve(["dev-7"], { reservationStartDate: hoursAgo(2).toISOString() });
    await svc.issue();
    expect((await windowsOf(first)).map((w) => Number(w.energyWh))).toEqual([1_500]);
    expect(await windowsOf(second)).toEqual([]);
    expect(await warningsOf(second)).toEqual(["no_data", "no_data"]);
  });

  it("follows certificate results in the reservation's counters", async () => {
    await sendReads("dev-8", [hourRead("dev-8", 2, 2_000), hourRead("dev-8", 1, 3_000)]);
    const id = await reserve(["dev-8"], { reservationStartDate: hoursAgo(2).toISOString() });
    await svc.issue();
    const [a, b] = await windowsOf(id);
    const chain = { chainId: 31337, txHash: `0x${"ab".repeat(32)}` };
    await certificate.publish(topics.certificateCertificate, "certificate.issued", {
      certificateId: randomUUID(),
      requestId: a!.requestId,
      reservationId: id,
      tokenId: "1",
      energyWh: 2_000,
      blockNumber: 7,
      ownerAddress: `0x${"12".repeat(20)}`,
      documentHash: `0x${"cd".repeat(32)}`,
      ...chain,
    });
    await certificate.publish(topics.certificateCertificate, "certificate.failed", {
      certificateId: randomUUID(),
      requestId: b!.requestId,
      reservationId: id,
      energyWh: 3_000,
      reason: "bad address",
      ...chain,
    });
    const view = await waitFor("the counters", async () => {
      const res = await svc.app.inject({
        method: "GET",
        url: `/organizations/${BUYER}/reservations/${id}`,
        headers: svc.auth("usr-buyer"),
      });
      const body = res.json();
      return body.targetVolumeCertificateGenerationFailedInMegaWattHour > 0 ? body : null;
    });
    expect(view).toMatchObject({
      targetVolumeCertificateGenerationRequestedInMegaWattHour: 0.005,
      targetVolumeCertificateGenerationSucceededInMegaWattHour: 0.002,
      targetVolumeCertificateGenerationFailedInMegaWattHour: 0.003,
    });
  });
});
