import {
  type CorrectedRead,
  type CountedRead,
  type ReadsCorrected,
  type ReadsRecorded,
  topics,
} from "@energy/contracts";
import { type DecodedMessage, FatalMessageError } from "@energy/kafka";
import { defineBatchSubscription, type Tx } from "../context.ts";

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
 *
 * Applied in chunks of messages (a batch subscription: meter-read sends up to 1,000 reads a message, and a
 * transaction per message held the consumer to ~3,000 reads/s): one transaction per chunk records the
 * messages' envelope ids in `processed_message` (a message seen before is skipped, as the one-by-one
 * runner does), stores the reads of each run of reads.recorded messages with one INSERT … SELECT from one
 * json parameter and marks late reservations with one UPDATE; a reads.corrected message is applied on
 * its own at its place in the chunk, so a correction always follows the reads before it.
 */

interface StoredRead {
  read_id: string;
  device_id: string;
  version: number;
  content_hash: string;
  start: string;
  end: string;
  energy_wh: string;
  eligible: boolean;
}

const stored = (deviceId: string, r: CountedRead): StoredRead => ({
  read_id: r.readId,
  device_id: deviceId,
  version: r.version,
  content_hash: r.contentHash,
  start: r.start,
  end: r.end,
  energy_wh: String(r.energyWh),
  eligible: r.eligible,
});

/** Reads of any devices in one statement; a read already stored (a replay) is left as it is. */
async function insertReads(tx: Tx, reads: readonly StoredRead[]): Promise<void> {
  if (reads.length === 0) return;
  // PostgreSQL stores no NUL in text; in a json parameter it fails as "unsupported Unicode escape sequence",
  // so it is named here (the message goes to the DLQ with this reason, the others of its chunk are applied)
  const nul = reads.find((r) => `${r.read_id}${r.device_id}${r.content_hash}`.includes("\0"));
  if (nul) {
    throw new FatalMessageError(
      `read ${JSON.stringify(nul.read_id)} of device ${JSON.stringify(nul.device_id)} contains a NUL (0x00), which PostgreSQL cannot store`,
    );
  }
  await tx.$executeRawUnsafe(
    `INSERT INTO meter_read (read_id, device_id, version, content_hash, start, "end", energy_wh, eligible)
     SELECT r.read_id, r.device_id, r.version, r.content_hash, r.start, r."end", r.energy_wh, r.eligible
       FROM json_to_recordset($1::json)
            AS r(read_id text, device_id text, version int, content_hash text, start timestamptz,
                 "end" timestamptz, energy_wh bigint, eligible bool)
     ON CONFLICT (read_id) DO NOTHING`,
    JSON.stringify(reads),
  );
}

/** A device's reads ending from `firstEnd` to `lastEnd`. */
interface Span {
  deviceId: string;
  firstEnd: Date;
  lastEnd: Date;
}

const spanOf = (deviceId: string, reads: readonly { end: string }[]): Span => {
  const ends = reads.map((r) => Date.parse(r.end));
  return { deviceId, firstEnd: new Date(Math.min(...ends)), lastEnd: new Date(Math.max(...ends)) };
};

/**
 * Marks the reservations of the devices whose issuance cursor is already past some of these reads, in one
 * statement; their rows are locked in id order first, as issuance locks them (no deadlock with a pass).
 */
async function markLate(tx: Tx, spans: readonly Span[]): Promise<void> {
  if (spans.length === 0) return;
  await tx.$executeRawUnsafe(
    `WITH late AS (
       SELECT r.id FROM reservation r
        WHERE NOT r.late_pending AND EXISTS (
              SELECT 1 FROM reservation_device rd
                JOIN unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS s(device_id, first_end, last_end)
                  ON s.device_id = rd.device_id
               WHERE rd.reservation_id = r.id AND rd.removed_at IS NULL
                 AND r.requested_until >= s.first_end AND r.start < s.last_end)
        ORDER BY r.id FOR UPDATE OF r)
     UPDATE reservation SET late_pending = true FROM late WHERE reservation.id = late.id`,
    spans.map((s) => s.deviceId),
    spans.map((s) => s.firstEnd),
    spans.map((s) => s.lastEnd),
  );
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
  await insertReads(
    tx,
    fresh.map((read) => stored(batch.deviceId, read)),
  );
  await markLate(tx, [spanOf(batch.deviceId, batch.reads)]);
}

/** The messages of the chunk not applied before (each envelope id once), recorded as applied now. */
async function firstSeen(tx: Tx, messages: readonly DecodedMessage[]): Promise<Set<string>> {
  const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
    `INSERT INTO processed_message (id, topic) SELECT id, $2 FROM unnest($1::uuid[]) AS m(id)
     ON CONFLICT (id) DO NOTHING RETURNING id::text AS id`,
    [...new Set(messages.map((m) => m.envelope.id))],
    topics.meterReadRead.name,
  );
  return new Set(rows.map((r) => r.id));
}

async function applyChunk(tx: Tx, messages: readonly DecodedMessage<ReadsRecorded | ReadsCorrected>[]) {
  const fresh = await firstSeen(tx, messages);
  let reads: StoredRead[] = [];
  let spans: Span[] = [];
  const flush = async () => {
    await insertReads(tx, reads);
    await markLate(tx, spans);
    reads = [];
    spans = [];
  };
  for (const message of messages) {
    if (!fresh.delete(message.envelope.id)) continue; // applied before, or twice in this chunk
    const batch = message.payload;
    if (batch.reads.length === 0) continue;
    if (message.envelope.type === "reads.recorded") {
      for (const read of (batch as ReadsRecorded).reads) reads.push(stored(batch.deviceId, read));
      spans.push(spanOf(batch.deviceId, batch.reads));
    } else {
      await flush();
      await corrected(tx, batch as ReadsCorrected);
    }
  }
  await flush();
}

export const meterReads = defineBatchSubscription(topics.meterReadRead, (messages, { service }) =>
  service.db.$transaction((tx) => applyChunk(tx, messages), { timeout: 120_000, maxWait: 10_000 }),
);
