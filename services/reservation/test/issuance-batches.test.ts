import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReservation } from "../src/commands.ts";
import { endReservation, lockReservation } from "../src/reservations.ts";
import {
  HOUR,
  hoursAgo,
  newReservation,
  type Service,
  seedDevices,
  seedOrg,
  startReservation,
} from "./helpers.ts";

// Several reservations are requested in one transaction (RESERVATIONS_PER_TRANSACTION), their windows
// bounded by WINDOWS_PER_TRANSACTION (4 here, so batches split): the outcome is the one of requesting
// them one by one: every window once, every read in at most one request.

let svc: Service;

beforeAll(async () => {
  svc = await startReservation({ WINDOWS_PER_TRANSACTION: "4", RESERVATIONS_PER_TRANSACTION: "3" });
  await seedOrg(svc.db, "org-buyer", "buyer");
  await seedOrg(svc.db, "org-dev", "developer");
  await seedDevices(
    svc.db,
    "org-dev",
    Array.from({ length: 12 }, (_, i) => `dev-${i}`),
  );
});
afterAll(async () => {
  await svc?.close();
});

const input = (deviceIds: string[], start: Date, end: Date) => newReservation(deviceIds, start, end);

/** Hourly reads of a device from `fromHoursAgo` to the current hour's start, as the consumer stores them. */
async function storeReads(
  deviceId: string,
  fromHoursAgo: number,
  energyWh: (h: number) => number,
  on: Service = svc,
) {
  await on.db.meterRead.createMany({
    data: Array.from({ length: fromHoursAgo }, (_, k) => {
      const h = fromHoursAgo - k;
      return {
        readId: `mrd-${deviceId}-${h}`,
        deviceId,
        version: 1,
        contentHash: "a".repeat(64),
        start: hoursAgo(h),
        end: hoursAgo(h - 1),
        energyWh: BigInt(energyWh(h)),
        eligible: true,
      };
    }),
  });
}

const windowsOf = (reservationId: string, on: Service = svc) =>
  on.db.issuanceWindow.findMany({ where: { reservationId }, orderBy: { windowStart: "asc" } });

describe("issuance in batches of reservations", () => {
  it("requests every window of many reservations once, to the Wh, across transactions of a few windows", async () => {
    const ids: string[] = [];
    for (let r = 0; r < 7; r++) {
      const devices = [`dev-${r}`];
      await storeReads(`dev-${r}`, 6, (h) => 1_000 + 100 * r + h);
      const { reservation } = await createReservation(
        svc.db,
        input(devices, hoursAgo(6), new Date(Date.now() + 24 * HOUR)),
        new Date(),
      );
      ids.push(reservation.id);
    }
    const requests = await svc.issue();
    expect(requests).toBe(7 * 6);
    for (const [r, id] of ids.entries()) {
      const windows = await windowsOf(id);
      expect(windows.map((w) => w.windowStart.getTime())).toEqual(
        Array.from({ length: 6 }, (_, k) => hoursAgo(6 - k).getTime()),
      );
      expect(windows.map((w) => Number(w.energyWh))).toEqual(
        Array.from({ length: 6 }, (_, k) => 1_000 + 100 * r + (6 - k)),
      );
      const row = await svc.db.reservation.findUniqueOrThrow({ where: { id } });
      expect(row.requestedUntil.getTime()).toBe(hoursAgo(0).getTime());
    }
    expect(await svc.issue()).toBe(0); // nothing twice
  });

  it("gives a read wanted by two reservations of one batch to one of them only", async () => {
    // A held dev-10 from 30 to 14 hours ago (ended, its cool-down over); B has it from 20 hours ago on.
    // Both are requested in the same transaction (the default budget of 1,000 windows takes both): the
    // reads of hours 20..14 are wanted by both.
    const svc = await startReservation();
    try {
      await seedOrg(svc.db, "org-buyer", "buyer");
      await seedOrg(svc.db, "org-dev", "developer");
      await seedDevices(svc.db, "org-dev", ["dev-10"]);
      await storeReads("dev-10", 30, () => 1_500, svc);
      const a = (await createReservation(svc.db, input(["dev-10"], hoursAgo(30), hoursAgo(14)), hoursAgo(31)))
        .reservation;
      await svc.db.$transaction(async (tx) => {
        const locked = await lockReservation(tx, a.id);
        await endReservation(tx, locked!, "expired", locked!.end);
      });
      const b = (
        await createReservation(
          svc.db,
          input(["dev-10"], hoursAgo(20), new Date(Date.now() + HOUR)),
          new Date(),
        )
      ).reservation;
      await svc.db.reservation.update({ where: { id: a.id }, data: { nextWindowEnd: hoursAgo(29) } });

      await svc.issue();
      const claims = await svc.db.meterRead.findMany({ where: { deviceId: "dev-10" } });
      const windows = [...(await windowsOf(a.id, svc)), ...(await windowsOf(b.id, svc))];
      const requested = windows.reduce((sum, w) => sum + Number(w.energyWh), 0);
      // every read in one request at most: the requests add up to the claimed reads, and no read is in two
      expect(requested).toBe(claims.reduce((sum, c) => sum + Number(c.claimedWh ?? 0), 0));
      expect(requested).toBe(30 * 1_500);
      // 36 windows between them, each of the 30 hours' reads in exactly one request (the 6 hours both
      // wanted went to one; the other logged them as a window without data)
      expect(windows.length).toBe(30);
      const readsInRequests = windows.flatMap((w) => w.contributions as { reads: number }[]);
      expect(readsInRequests.reduce((sum, c) => sum + c.reads, 0)).toBe(30);
      expect(new Set(windows.map((w) => w.windowStart.getTime())).size).toBe(30);
    } finally {
      await svc.close();
    }
  });
});
