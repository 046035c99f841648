import {
  type CorrectedRead,
  type CountedRead,
  type ReadsCorrected,
  type ReadsRecorded,
  topics,
} from "@energy/contracts";
import { defineSubscription, type Tx } from "../context.ts";

/**
 * meter-read's counted reads, every device's (a reservation may start up to 12 months in the past and
 * claim what was read before it existed). Stored here, claimed by at most one reservation (issuance.ts).
 *
 * - reads.recorded: first versions; a read seen before (a replay) is left as it is.
 * - reads.corrected: a later version replaces what is not yet requested (unclaimed, or claimed and carried
 *   below the minimum certificate size); for a read already in a request the correction is too late and
 *   is reported on the reservation as a warning (the certificate stands).
 * Either way, a read that ends in a window its reservation already requested marks the reservation: its
 * next run requests such reads as late.
 */
async function insertReads(tx: Tx, deviceId: string, reads: readonly CountedRead[]): Promise<void> {
  await tx.$executeRawUnsafe(
    `INSERT INTO meter_read (read_id, device_id, version, content_hash, start, "end", energy_wh, eligible)
     SELECT r.read_id, $1, r.version, r.content_hash, r.start, r."end", r.energy_wh, r.eligible
       FROM unnest($2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::bigint[], $8::bool[])
            AS r(read_id, version, content_hash, start, "end", energy_wh, eligible)
     ON CONFLICT (read_id) DO NOTHING`,
    deviceId,
    reads.map((r) => r.readId),
    reads.map((r) => r.version),
    reads.map((r) => r.contentHash),
    reads.map((r) => r.start),
    reads.map((r) => r.end),
    reads.map((r) => String(r.energyWh)),
    reads.map((r) => r.eligible),
  );
}

/** Marks the reservations of the device whose issuance cursor is already past some of these reads. */
async function markLate(tx: Tx, deviceId: string, reads: readonly CountedRead[]): Promise<void> {
  const ends = reads.map((r) => Date.parse(r.end));
  await tx.$executeRawUnsafe(
    `UPDATE reservation r SET late_pending = true
       FROM reservation_device rd
      WHERE rd.reservation_id = r.id AND rd.device_id = $1 AND rd.removed_at IS NULL
        AND r.requested_until >= $2::timestamptz AND r.start < $3::timestamptz AND NOT r.late_pending`,
    deviceId,
    new Date(Math.min(...ends)),
    new Date(Math.max(...ends)),
  );
}

async function recorded(tx: Tx, batch: ReadsRecorded): Promise<void> {
  await insertReads(tx, batch.deviceId, batch.reads);
  await markLate(tx, batch.deviceId, batch.reads);
}

async function corrected(tx: Tx, batch: ReadsCorrected): Promise<void> {
  const ids = batch.reads.map((r) => r.readId);
  // Locked first: an issuance pass claiming these reads holds them (FOR UPDATE) until it commits, and
  // what is decided below must see its claim (else a correction would overwrite a requested read's energy
  // without the correction_too_late warning). Under READ COMMITTED the next statement sees it.
  await tx.$queryRawUnsafe(
    "SELECT read_id FROM meter_read WHERE read_id = ANY($1::text[]) ORDER BY read_id FOR UPDATE",
    ids,
  );
  const known = await tx.meterRead.findMany({
    where: { readId: { in: ids } },
    select: { readId: true, version: true, requestId: true, reservationId: true, energyWh: true },
  });
  const byId = new Map(known.map((k) => [k.readId, k]));
  const fresh: CorrectedRead[] = [];
  for (const read of batch.reads) {
    const row = byId.get(read.readId);
    if (!row) {
      fresh.push(read);
      continue;
    }
    if (row.version >= read.version) continue; // an older or repeated correction
    if (row.requestId !== null && row.reservationId !== null) {
      await tx.reservationWarning.create({
        data: {
          reservationId: row.reservationId,
          code: "correction_too_late",
          deviceId: batch.deviceId,
          windowStart: null,
          message:
            `read ${read.readId} was corrected to version ${read.version} (${read.energyWh} Wh, was ` +
            `${row.energyWh} Wh) after it had been requested; the request stands as it was`,
        },
      });
      continue;
    }
    await tx.meterRead.update({
      where: { readId: read.readId },
      data: {
        version: read.version,
        contentHash: read.contentHash,
        start: new Date(read.start),
        end: new Date(read.end),
        energyWh: BigInt(read.energyWh),
        eligible: read.eligible,
        // Claimed and carried: the carry follows the correction.
        ...(row.reservationId !== null ? { claimedWh: BigInt(read.energyWh) } : {}),
      },
    });
  }
  if (fresh.length > 0) await insertReads(tx, batch.deviceId, fresh);
  await markLate(tx, batch.deviceId, batch.reads);
}

export const meterReads = defineSubscription(topics.meterReadRead, {
  "reads.recorded": (batch, { tx }) => recorded(tx, batch),
  "reads.corrected": (batch, { tx }) => corrected(tx, batch),
});
