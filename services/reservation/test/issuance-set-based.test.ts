import { type IssuanceWindowsRequested, issuanceRequestsOf } from "@energy/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReservation, type NewReservation } from "../src/commands.ts";
import { issuanceOptions, runIssuance } from "../src/issuance.ts";
import {
  HOUR,
  hoursAgo,
  newReservation,
  type Service,
  seedDevices,
  seedOrg,
  startReservation,
} from "./helpers.ts";

// The set-based path (issuance-sql.ts: PostgreSQL computes, claims and writes many reservations' plain
// windows in one statement) against the one-by-one path (every window decided in src/domain/issuance.ts):
// the same reads and reservations on two databases, one pass each way, give the same window rows, claims,
// cursors, counters, warnings and requests (ids aside, which are per reservation), to the Wh.

let set: Service;
let one: Service;
const END = new Date(Date.now() + 24 * HOUR);
const DEVICES = ["dev-a", "dev-b", "dev-c", "dev-d", "dev-e", "dev-f"];

beforeAll(async () => {
  [set, one] = await Promise.all([startReservation(), startReservation()]);
  for (const svc of [set, one]) {
    await seedOrg(svc.db, "org-buyer", "buyer");
    await seedOrg(svc.db, "org-dev", "developer");
    await seedDevices(svc.db, "org-dev", DEVICES);
  }
});
afterAll(async () => {
  await Promise.all([set?.close(), one?.close()]);
});

const input = (deviceIds: string[], start: Date, over: Partial<NewReservation> = {}) =>
  newReservation(deviceIds, start, END, { name: `set ${deviceIds.join(",")}`, ...over });

/** Reads of a device: two half-hour reads an hour from `from` hours ago to `to` hours ago. */
async function storeReads(
  svc: Service,
  deviceId: string,
  from: number,
  to: number,
  wh: (h: number) => number,
) {
  const data = [];
  for (let h = from; h > to; h--) {
    for (const half of [0, 1]) {
      data.push({
        readId: `mrd-${deviceId}-${h}-${half}`,
        deviceId,
        version: 1,
        contentHash: `${deviceId}-${h}-${half}`.padEnd(64, "0").replace(/[^0-9a-f]/g, "e"),
        start: new Date(hoursAgo(h).getTime() + (half * HOUR) / 2),
        end: new Date(hoursAgo(h).getTime() + ((half + 1) * HOUR) / 2),
        energyWh: BigInt(half === 0 ? wh(h) : h % 3 === 0 ? 0 : 7 * Math.abs(h)), // some reads of 0 Wh (never claimed)
        eligible: true,
      });
    }
  }
  await svc.db.meterRead.createMany({ data });
}

/** Everything a pass wrote, with each reservation's id replaced by its name (ids differ between the two). */
async function outcome(svc: Service) {
  const reservations = await svc.db.reservation.findMany({ orderBy: { name: "asc" } });
  const name = new Map(reservations.map((r) => [r.id, r.name]));
  const keyOf = (key: string) => key.replace(/^[^:]+/, (id) => name.get(id) ?? id);
  const windows = await svc.db.issuanceWindow.findMany({
    orderBy: [{ windowStart: "asc" }, { version: "asc" }],
  });
  const reads = await svc.db.meterRead.findMany({ orderBy: { readId: "asc" } });
  const keyOfRequest = new Map(windows.map((w) => [w.requestId, keyOf(w.idempotencyKey)]));
  const records = await svc.db.outboxMessage.findMany({
    where: { type: "issuance.windows-requested" },
    orderBy: { seq: "asc" },
  });
  const requests = records
    .flatMap((m) => issuanceRequestsOf(m.payload as unknown as IssuanceWindowsRequested))
    .map(({ requestId: _id, requestedAt: _at, reservationId, idempotencyKey, ...r }) => ({
      of: name.get(reservationId),
      key: keyOf(idempotencyKey),
      ...r,
    }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    reservations: reservations.map((r) => ({
      name: r.name,
      requestedUntil: r.requestedUntil,
      nextWindowEnd: r.nextWindowEnd,
      requestedWh: r.requestedWh,
      carriedWh: r.carriedWh,
      status: r.status,
      endReason: r.endReason,
    })),
    windows: windows
      .map(({ requestId: _r, reservationId, createdAt: _c, idempotencyKey, ...w }) => ({
        ...w,
        reservation: name.get(reservationId),
        key: keyOf(idempotencyKey),
      }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    claims: reads.map((r) => ({
      readId: r.readId,
      reservation: r.reservationId === null ? null : name.get(r.reservationId),
      request: r.requestId === null ? null : keyOfRequest.get(r.requestId),
      claimedWh: r.claimedWh,
      late: r.late,
    })),
    warnings: (await svc.db.reservationWarning.findMany())
      .map((w) => `${name.get(w.reservationId)} ${w.code} ${w.windowStart?.toISOString()} ${w.deviceId}`)
      .sort(),
    requests,
  };
}

describe("set-based issuance", () => {
  it("writes what the one-by-one path writes, to the Wh, and leaves the windows that need decisions to it", async () => {
    const now = new Date();
    for (const svc of [set, one]) {
      // plain: every device sends every hour, no target
      await storeReads(svc, "dev-a", 12, 0, (h) => 1_000 + 37 * h);
      await storeReads(svc, "dev-b", 12, 0, (h) => 2_000 + h);
      // a target the windows do not reach (no authority to exceed)
      await storeReads(svc, "dev-c", 12, 0, (h) => 1_500 + h);
      // a target passed with authority to exceed (a target_exceeded warning: one by one)
      await storeReads(svc, "dev-d", 12, 0, (h) => 1_200 + h);
      // below the minimum in some hours (carried: one by one)
      await storeReads(svc, "dev-e", 12, 0, (h) => (h % 4 === 0 ? 100 : 1_100));
      // no data for some hours (no_data warnings: one by one)
      await storeReads(svc, "dev-f", 12, 6, (h) => 1_300 + h);
      await storeReads(svc, "dev-f", 4, 0, (h) => 1_300 + h);
      const at = (h: number) => hoursAgo(h);
      await createReservation(svc.db, input(["dev-a", "dev-b"], at(12)), now);
      await createReservation(
        svc.db,
        input(["dev-c"], at(12), { targetVolumeWh: 50_000n, authorityToExceed: false }),
        now,
      );
      await createReservation(svc.db, input(["dev-d"], at(12), { targetVolumeWh: 5_000n }), now);
      await createReservation(svc.db, input(["dev-e"], at(12)), now);
      await createReservation(svc.db, input(["dev-f"], at(12)), now);
    }
    const setStats = { setBased: 0, oneByOne: 0 };
    const oneStats = { setBased: 0, oneByOne: 0 };
    await runIssuance({ ...issuanceOptions(set.ctx), stats: setStats }, now);
    await runIssuance({ ...issuanceOptions(one.ctx), setBased: false, stats: oneStats }, now);
    expect(setStats.setBased).toBe(24); // dev-a + dev-b's 12 windows, dev-c's 12
    expect(oneStats.setBased).toBe(0);
    const a = await outcome(set);
    const b = await outcome(one);
    expect(a.requests.length).toBeGreaterThan(40);
    expect(a).toEqual(b);

    // The next hours: dev-c's target is reached (capped, one by one) after a set-based pass.
    for (const svc of [set, one]) {
      await storeReads(svc, "dev-c", 0, -20, () => 1_800);
      await storeReads(svc, "dev-a", 0, -20, (h) => 900 - h);
      await storeReads(svc, "dev-b", 0, -20, (h) => 900 - h);
    }
    const later = new Date(now.getTime() + 20 * HOUR);
    await runIssuance({ ...issuanceOptions(set.ctx), stats: setStats }, later);
    await runIssuance({ ...issuanceOptions(one.ctx), setBased: false, stats: oneStats }, later);
    expect(setStats.setBased).toBeGreaterThan(24);
    expect(await outcome(set)).toEqual(await outcome(one));
    const c = (await set.db.reservation.findMany({ where: { name: "set dev-c" } }))[0]!;
    expect(c.endReason).toBe("target_reached");
    // capped at the target; a capped remainder below the minimum certificate size is never requested
    expect(c.requestedWh).toBeLessThanOrEqual(50_000n);
    expect(c.requestedWh).toBeGreaterThan(50_000n - 1_000n);
  });
});
