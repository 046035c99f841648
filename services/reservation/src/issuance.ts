import {
  type IssuanceFrequency,
  type IssuanceRequest,
  IssuanceWindowsRequestedSchema,
  type ReservedDevice,
  topics,
  windowsRequestedOf,
} from "@energy/contracts";
import { enqueueEvents, event, type Logger } from "@energy/kafka";
import type { Config } from "./config.ts";
import type { Db } from "./db.ts";
import { idempotencyKey, requestIdOf } from "./domain/ids.ts";
import {
  type CandidateRead,
  type ClaimedRead,
  decideIssuance,
  devicesWithoutData,
} from "./domain/issuance.ts";
import { closedWindows, type Window, windowAt, windowIndexOfReadEnd } from "./domain/windows.ts";
import type { Device, Reservation } from "./generated/prisma/client.ts";
import { RECORD_BYTES, requestInPostgres, type SqlPlanned } from "./issuance-sql.ts";
import {
  endReservation,
  lockReservation,
  nextWindowEndAfter,
  periodOf,
  reservedDevice,
  type Tx,
} from "./reservations.ts";

export interface IssuanceOptions {
  db: Db;
  minCertificateWh: number;
  /** reads of a window are waited for this long after its end */
  closeDelayMs: number;
  windowsPerTransaction: number;
  /** transactions at the same time (default 3) */
  concurrency?: number;
  /** reservations taken together in one transaction (default 100; windowsPerTransaction bounds it too) */
  reservationsPerTransaction?: number;
  /** wakes the outbox relay */
  published: () => void;
  /**
   * Plain windows computed by PostgreSQL in one statement (issuance-sql.ts; default true); false: every
   * window decided one by one (the tests compare the two).
   */
  setBased?: boolean;
  /** counts the requests each path made (tests, the bench) */
  stats?: { setBased: number; oneByOne: number };
  logger?: Logger;
}

interface ReadRow {
  read_id: string;
  device_id: string;
  version: number;
  content_hash: string;
  start: Date;
  end: Date;
  energy_wh: string;
  claimed_wh: string | null;
  late: boolean;
}

const toCandidate = (row: ReadRow, late: boolean): CandidateRead => ({
  readId: row.read_id,
  deviceId: row.device_id,
  version: row.version,
  contentHash: row.content_hash,
  start: row.start,
  end: row.end,
  energyWh: BigInt(row.energy_wh),
  late: late || row.late,
  ...(row.claimed_wh !== null ? { carriedWh: BigInt(row.claimed_wh) } : {}),
});

const READ_COLUMNS = `read_id, device_id, version, content_hash, start, "end", energy_wh::text, claimed_wh::text, late`;

/** Unclaimed eligible reads of the devices ending in (after, until], locked for this transaction. */
function unclaimedReads(tx: Tx, deviceIds: string[], after: Date, until: Date): Promise<ReadRow[]> {
  return tx.$queryRawUnsafe<ReadRow[]>(
    `SELECT ${READ_COLUMNS} FROM meter_read
      WHERE reservation_id IS NULL AND device_id = ANY($1::text[]) AND "end" > $2 AND "end" <= $3 AND eligible
      FOR UPDATE`,
    deviceIds,
    after,
    until,
  );
}

interface Claim {
  readId: string;
  requestId: string | null;
  claimedWh: bigint;
  late: boolean;
}

/** Everything one run decides for one reservation, written at the end of its transaction. */
class Run {
  claims: Claim[] = [];
  windows: {
    requestId: string;
    idempotencyKey: string;
    reservationId: string;
    windowStart: Date;
    windowEnd: Date;
    version: number;
    energyWh: bigint;
    carriedOverWh: bigint;
    late: boolean;
    capped: boolean;
    contributions: object;
  }[] = [];
  warnings: {
    reservationId: string;
    code: string;
    message: string;
    windowStart: Date | null;
    deviceId: string | null;
  }[] = [];
  requests: IssuanceRequest[] = [];
  carried: CandidateRead[] = [];
  requestedWh: bigint;
  targetReached = false;

  constructor(
    readonly r: Reservation,
    readonly devices: Device[],
    readonly buyer: { orgId: string; name: string; blockchainAccountAddress: string },
    readonly minWh: bigint,
    readonly now: Date,
    /** the batch's devices, each turned into the contract's ReservedDevice once */
    private readonly reserved: Map<string, ReservedDevice>,
  ) {
    this.requestedWh = r.requestedWh;
  }

  /** Decides one window's (or one late batch's) request; false once the target stops the reservation. */
  decide(window: Window, reads: CandidateRead[], version: number): boolean {
    const r = this.r;
    const decision = decideIssuance(this.carried, reads, {
      requestedWh: this.requestedWh,
      targetWh: r.targetVolumeWh,
      authorityToExceed: r.authorityToExceed,
      minCertificateWh: this.minWh,
    });
    if (decision.kind === "nothing") {
      if (decision.targetReached) this.reachTarget(window);
      return !decision.targetReached;
    }
    if (decision.kind === "carry") {
      for (const read of decision.reads) {
        this.claims.push({
          readId: read.readId,
          requestId: null,
          claimedWh: read.claimedWh,
          late: read.late,
        });
      }
      this.carried = [
        ...this.carried,
        ...decision.reads.map((read) => ({ ...read, carriedWh: read.claimedWh })),
      ];
      this.warn(
        "below_minimum",
        `${decision.carriedWh} Wh in total is below the minimum certificate size (${this.minWh} Wh): carried into the next window`,
        window.start,
      );
      return true;
    }
    const key = idempotencyKey(r.id, window.start, version);
    const requestId = requestIdOf(key);
    for (const read of decision.reads) {
      this.claims.push({ readId: read.readId, requestId, claimedWh: read.claimedWh, late: read.late });
    }
    const contributions = decision.contributions.map((c) => ({
      ...(this.reserved.get(c.deviceId) ?? reservedDevice(unknownDevice(c.deviceId))),
      energyWh: Number(c.energyWh),
      reads: c.reads.map(issuanceRead),
    }));
    const request: IssuanceRequest = {
      idempotencyKey: key,
      requestId,
      reservationId: r.id,
      version,
      buyerOrgId: r.buyerOrgId,
      buyerOrganization: this.buyer,
      buyerAddress: r.buyerAddress,
      frequency: r.frequency as IssuanceFrequency,
      timezone: r.timezone,
      window: { start: window.start.toISOString(), end: window.end.toISOString() },
      energyWh: Number(decision.energyWh),
      carriedOverWh: Number(decision.carriedOverWh),
      late: decision.late,
      capped: decision.capped,
      contributions,
      reservation: {
        name: r.name,
        start: r.start.toISOString(),
        end: r.end.toISOString(),
        targetVolumeWh: r.targetVolumeWh === null ? null : Number(r.targetVolumeWh),
        authorityToExceed: r.authorityToExceed,
        requestedWh: Number(this.requestedWh),
        succeededWh: Number(r.succeededWh),
        failedWh: Number(r.failedWh),
      },
      requestedAt: this.now.toISOString(),
    };
    this.requests.push(request);
    this.windows.push({
      requestId,
      idempotencyKey: key,
      reservationId: r.id,
      windowStart: window.start,
      windowEnd: window.end,
      version,
      energyWh: decision.energyWh,
      carriedOverWh: decision.carriedOverWh,
      late: decision.late,
      capped: decision.capped,
      contributions: decision.contributions.map((c) => ({
        deviceId: c.deviceId,
        energyWh: Number(c.energyWh),
        reads: c.reads.length,
      })),
    });
    this.requestedWh += decision.energyWh;
    this.carried = [];
    if (decision.targetPassed) {
      this.warn(
        "target_exceeded",
        `the target volume (${r.targetVolumeWh} Wh) was passed: ${this.requestedWh} Wh requested; issuance goes on until the end date (authority to exceed)`,
        window.start,
      );
    }
    if (decision.targetReached) {
      this.reachTarget(window);
      return false;
    }
    return true;
  }

  private reachTarget(window: Window) {
    if (this.targetReached) return;
    this.targetReached = true;
    this.warn(
      "target_reached",
      `the target volume (${this.r.targetVolumeWh} Wh) is reached: the reservation stops here (no authority to exceed); later reads stay unclaimed`,
      window.start,
    );
  }

  warn(code: string, message: string, windowStart: Date | null, deviceId: string | null = null) {
    this.warnings.push({ reservationId: this.r.id, code, message, windowStart, deviceId });
  }

  noData(window: Window, reads: CandidateRead[]) {
    const missing = devicesWithoutData(
      this.devices.map((d) => d.id),
      reads,
    );
    if (missing.length === 0) return;
    if (missing.length === this.devices.length) {
      this.warn(
        "no_data",
        "no device sent data for this window: there is nothing to issue from",
        window.start,
      );
      return;
    }
    for (const deviceId of missing) {
      this.warn("no_data", `device ${deviceId} sent no data for this window`, window.start, deviceId);
    }
  }
}

const unknownDevice = (deviceId: string): Device => ({
  id: deviceId,
  orgId: "unknown",
  siteId: null,
  name: deviceId,
  type: "unknown",
  state: "unknown",
  externalId: null,
  capacityW: null,
  commissioningDate: null,
  countryCode: null,
  fuelCode: null,
  deviceTypeCode: null,
  offTaker: null,
  gridInterconnection: null,
  address: null,
  latitude: null,
  longitude: null,
  deleted: true,
});

const issuanceRead = (read: ClaimedRead) => ({
  readId: read.readId,
  version: read.version,
  contentHash: read.contentHash,
  start: read.start.toISOString(),
  end: read.end.toISOString(),
  energyWh: Number(read.claimedWh),
  late: read.late,
});

/** One locked reservation of a batch and what this transaction does for it. */
interface Planned {
  r: Reservation;
  windows: Window[];
  late: boolean;
}

/**
 * Requests the closed windows, and the late reads, of several reservations in one transaction under their
 * row locks (taken in id order in one statement): the claims of the reads, the window rows (unique
 * idempotency key), the warnings, the new cursors and the outbox messages commit together or not at all,
 * so a crash at any point never requests a window twice, and a re-run continues where the last commit
 * left off. Every step is one statement for the whole batch (the reads of all its reservations' devices
 * and windows in one query, the claims in one UPDATE, the cursors in one UPDATE, the requests in one
 * INSERT); only late reads and a reservation reaching its target take statements of their own.
 *
 * At most `windowsPerTransaction` windows in all (a late batch counts as one): reservations past that
 * budget are left for the next transaction, like a reservation whose windows go on. Returns the number of
 * requests made and the reservations to run again.
 */
export async function requestReservations(
  opts: IssuanceOptions,
  reservationIds: readonly string[],
  now: Date,
): Promise<{ requests: number; again: string[] }> {
  if (reservationIds.length === 0) return { requests: 0, again: [] };
  return opts.db.$transaction(
    async (tx) => {
      const locked = await lockReservations(tx, reservationIds);
      const again: string[] = [];
      let planned: Planned[] = [];
      let budget = opts.windowsPerTransaction;
      for (const r of locked) {
        if (budget <= 0) {
          again.push(r.id);
          continue;
        }
        const period = periodOf(r);
        const closedBy = new Date(Math.min(now.getTime() - opts.closeDelayMs, period.end.getTime()));
        const late = r.latePending && r.endReason !== "target_reached";
        const windows =
          r.endReason === "target_reached"
            ? []
            : closedWindows(period, r.requestedUntil, closedBy, late ? Math.max(budget - 1, 0) : budget);
        if (windows.length === 0 && !r.latePending) {
          // Nothing closed: only keep the due marker right (e.g. after an early end).
          const next = nextWindowEndAfter(r, r.requestedUntil);
          if (next?.getTime() !== r.nextWindowEnd?.getTime()) {
            await tx.reservation.update({ where: { id: r.id }, data: { nextWindowEnd: next } });
          }
          continue;
        }
        budget -= windows.length + (late ? 1 : 0);
        planned.push({ r, windows, late });
      }
      if (planned.length === 0) return { requests: 0, again };

      const ids = planned.map((p) => p.r.id);
      const members = await tx.reservationDevice.findMany({
        where: { reservationId: { in: ids }, removedAt: null },
        select: { reservationId: true, deviceId: true },
      });
      const devices = await tx.device.findMany({
        where: { id: { in: [...new Set(members.map((m) => m.deviceId))] } },
        orderBy: { id: "asc" },
      });
      const deviceById = new Map(devices.map((d) => [d.id, d]));
      const reserved = new Map(devices.map((d) => [d.id, reservedDevice(d)]));
      const devicesOf = new Map<string, Device[]>(ids.map((id) => [id, []]));
      for (const m of members) {
        const d = deviceById.get(m.deviceId);
        if (d) devicesOf.get(m.reservationId)?.push(d);
      }
      for (const list of devicesOf.values()) list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const orgs = await tx.organization.findMany({
        where: { id: { in: [...new Set(planned.map((p) => p.r.buyerOrgId))] } },
      });
      const orgName = new Map(orgs.map((o) => [o.id, o.name]));
      const carriedRows = await tx.$queryRawUnsafe<(ReadRow & { reservation_id: string })[]>(
        `SELECT ${READ_COLUMNS}, reservation_id FROM meter_read
          WHERE reservation_id = ANY($1::text[]) AND request_id IS NULL
          ORDER BY reservation_id, "end", device_id, read_id FOR UPDATE`,
        ids,
      );
      // The reservations whose windows are plain requests: computed and written by PostgreSQL in one
      // statement (issuance-sql.ts); the others (and any it turns down) are decided one by one below.
      // A device two planned reservations share leaves both to the one-by-one path (id order decides).
      const owners = new Map<string, number>();
      for (const m of members) owners.set(m.deviceId, (owners.get(m.deviceId) ?? 0) + 1);
      const sql: SqlPlanned[] = [];
      for (const { r, windows, late } of planned) {
        const own = devicesOf.get(r.id) ?? [];
        if (late || windows.length === 0 || r.carriedWh !== 0n || own.length === 0) continue;
        if (carriedRows.some((row) => row.reservation_id === r.id)) continue;
        if (own.some((d) => (owners.get(d.id) ?? 0) > 1)) continue;
        sql.push({
          r,
          windows,
          deviceIds: own.map((d) => d.id),
          devices: own.map((d) => reserved.get(d.id)!),
          buyer: {
            orgId: r.buyerOrgId,
            name: orgName.get(r.buyerOrgId) ?? r.buyerOrgId,
            blockchainAccountAddress: r.buyerAddress,
          },
          nextWindowEnd: nextWindowEndAfter(r, windows[windows.length - 1]!.end),
        });
      }
      const done =
        opts.setBased === false
          ? new Set<string>()
          : await requestInPostgres(tx, sql, opts.minCertificateWh, now);
      let setRequests = 0;
      for (const x of sql) {
        if (!done.has(x.r.id)) continue;
        setRequests += x.windows.length;
        if (windowsLeft(x.r, x.windows[x.windows.length - 1]!.end, now, opts)) again.push(x.r.id);
      }
      planned = planned.filter((x) => !done.has(x.r.id));
      const windowRows = await windowReads(tx, planned, devicesOf);

      // Reservations are decided in id order, as one by one: a read one of them claimed is not another's.
      const claimedHere = new Set<string>();
      const unclaimed = (rows: ReadRow[]) => rows.filter((row) => !claimedHere.has(row.read_id));
      const runs: { run: Run; cursor: Date; more: boolean }[] = [];
      for (const { r, windows, late } of planned) {
        const own = devicesOf.get(r.id) ?? [];
        const buyer = {
          orgId: r.buyerOrgId,
          name: orgName.get(r.buyerOrgId) ?? r.buyerOrgId,
          blockchainAccountAddress: r.buyerAddress,
        };
        const run = new Run(r, own, buyer, BigInt(opts.minCertificateWh), now, reserved);
        run.carried = carriedRows
          .filter((row) => row.reservation_id === r.id)
          .map((row) => toCandidate(row, false));
        if (late)
          await decideLate(
            tx,
            run,
            own.map((d) => d.id),
            unclaimed,
          );
        let cursor = r.requestedUntil;
        if (windows.length > 0 && !run.targetReached) {
          const buckets: CandidateRead[][] = windows.map(() => []);
          for (const row of unclaimed(windowRows.get(r.id) ?? [])) {
            const i = windowIndexOfReadEnd(windows, row.end);
            if (i >= 0) buckets[i]!.push(toCandidate(row, false));
          }
          for (let i = 0; i < windows.length; i++) {
            const window = windows[i]!;
            run.noData(window, buckets[i]!);
            cursor = window.end;
            if (!run.decide(window, buckets[i]!, 1)) break;
          }
        }
        for (const claim of run.claims) claimedHere.add(claim.readId);
        const more =
          !run.targetReached && r.endReason !== "target_reached" && windowsLeft(r, cursor, now, opts);
        runs.push({ run, cursor, more });
        if (more) again.push(r.id);
      }

      await write(
        tx,
        runs.map((x) => x.run),
      );
      await updateCursors(tx, runs);
      for (const { run, cursor } of runs) {
        if (!run.targetReached || run.r.authorityToExceed) continue;
        const updated: Reservation = {
          ...run.r,
          requestedUntil: cursor,
          requestedWh: run.requestedWh,
          carriedWh: carriedWhOf(run),
          latePending: false,
        };
        const ended = await endReservation(tx, updated, "target_reached", now);
        await tx.reservation.update({
          where: { id: ended.id },
          data: { nextWindowEnd: nextWindowEndAfter(ended, cursor) },
        });
      }
      const requests = runs.flatMap((x) => x.run.requests);
      await enqueueRequests(tx, requests);
      if (opts.stats) {
        opts.stats.setBased += setRequests;
        opts.stats.oneByOne += requests.length;
      }
      return { requests: requests.length + setRequests, again };
    },
    { timeout: 120_000, maxWait: 10_000 },
  );
}

/** The shortest window of each frequency (a local day may have 23 hours, a quarter 89 days). */
const SHORTEST_MS: Record<string, number> = {
  hourly: 3_600_000,
  daily: 23 * 3_600_000,
  weekly: (7 * 24 - 1) * 3_600_000,
  monthly: (28 * 24 - 1) * 3_600_000,
  quarterly: 89 * 24 * 3_600_000,
};

/** At least as many windows as the reservation has closed by `closedBy` (late reads count as one). */
function estimatedWindows(
  r: { requestedUntil: Date; end: Date; endedAt: Date | null; frequency: string; latePending: boolean },
  closedBy: Date,
): number {
  const until = Math.min(
    closedBy.getTime(),
    r.end.getTime(),
    r.endedAt?.getTime() ?? Number.POSITIVE_INFINITY,
  );
  const span = Math.max(until - r.requestedUntil.getTime(), 0);
  return Math.ceil(span / (SHORTEST_MS[r.frequency] ?? 3_600_000)) + 1 + (r.latePending ? 1 : 0);
}

/** Whether windows of the reservation closed after `cursor` are still waiting (the budget stopped it). */
function windowsLeft(r: Reservation, cursor: Date, now: Date, opts: IssuanceOptions): boolean {
  const period = periodOf(r);
  const closedBy = new Date(Math.min(now.getTime() - opts.closeDelayMs, period.end.getTime()));
  return closedWindows(period, cursor, closedBy, 1).length > 0;
}

const carriedWhOf = (run: Run) => run.carried.reduce((sum, read) => sum + (read.carriedWh ?? 0n), 0n);

/** Locks the reservations' rows (in id order: concurrent batches never deadlock) and loads them. */
async function lockReservations(tx: Tx, ids: readonly string[]): Promise<Reservation[]> {
  const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
    "SELECT id FROM reservation WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
    [...new Set(ids)],
  );
  if (rows.length === 0) return [];
  const found = await tx.reservation.findMany({ where: { id: { in: rows.map((row) => row.id) } } });
  return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The unclaimed eligible reads of every planned reservation's devices ending in its windows, locked for
 * this transaction: one statement for the batch (a device, reservation and period per row of the query).
 */
async function windowReads(
  tx: Tx,
  planned: Planned[],
  devicesOf: Map<string, Device[]>,
): Promise<Map<string, ReadRow[]>> {
  const q = { reservation: [] as string[], device: [] as string[], after: [] as Date[], until: [] as Date[] };
  for (const { r, windows } of planned) {
    if (windows.length === 0) continue;
    for (const d of devicesOf.get(r.id) ?? []) {
      q.reservation.push(r.id);
      q.device.push(d.id);
      q.after.push(windows[0]!.start);
      q.until.push(windows[windows.length - 1]!.end);
    }
  }
  const byReservation = new Map<string, ReadRow[]>();
  if (q.device.length === 0) return byReservation;
  const rows = await tx.$queryRawUnsafe<(ReadRow & { for_reservation: string })[]>(
    `SELECT m.read_id, m.device_id, m.version, m.content_hash, m.start, m."end", m.energy_wh::text, m.claimed_wh::text,
            m.late, q.reservation_id AS for_reservation
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS q(reservation_id, device_id, after, until)
       JOIN meter_read m ON m.reservation_id IS NULL AND m.device_id = q.device_id
                        AND m."end" > q.after AND m."end" <= q.until AND m.eligible
     FOR UPDATE OF m`,
    q.reservation,
    q.device,
    q.after,
    q.until,
  );
  for (const row of rows) {
    const list = byReservation.get(row.for_reservation) ?? [];
    list.push(row);
    byReservation.set(row.for_reservation, list);
  }
  return byReservation;
}

/** Late reads first (they belong to earlier windows): a new version of their window each. */
async function decideLate(
  tx: Tx,
  run: Run,
  deviceIds: string[],
  unclaimed: (rows: ReadRow[]) => ReadRow[],
): Promise<void> {
  const r = run.r;
  const period = periodOf(r);
  const late = unclaimed(await unclaimedReads(tx, deviceIds, r.start, r.requestedUntil));
  const byWindow = new Map<number, { window: Window; reads: CandidateRead[] }>();
  for (const row of late) {
    const window = windowAt(new Date(row.end.getTime() - 1), period);
    const entry = byWindow.get(window.start.getTime()) ?? { window, reads: [] };
    entry.reads.push(toCandidate(row, true));
    byWindow.set(window.start.getTime(), entry);
  }
  const starts = [...byWindow.keys()].sort((a, b) => a - b);
  if (starts.length === 0) return;
  const versions = await tx.issuanceWindow.groupBy({
    by: ["windowStart"],
    where: { reservationId: r.id, windowStart: { in: starts.map((start) => new Date(start)) } },
    _max: { version: true },
  });
  const latest = new Map(versions.map((v) => [v.windowStart.getTime(), v._max.version ?? 0]));
  for (const start of starts) {
    const entry = byWindow.get(start)!;
    if (!run.decide(entry.window, entry.reads, (latest.get(start) ?? 0) + 1)) break;
  }
}

/** The batch's new cursors, counters and due markers in one UPDATE. */
async function updateCursors(tx: Tx, runs: { run: Run; cursor: Date }[]): Promise<void> {
  if (runs.length === 0) return;
  await tx.$executeRawUnsafe(
    `UPDATE reservation r SET requested_until = u.requested_until, requested_wh = u.requested_wh,
            carried_wh = u.carried_wh, late_pending = false, next_window_end = u.next_window_end, updated_at = now()
       FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::timestamptz[])
         AS u(id, requested_until, requested_wh, carried_wh, next_window_end)
      WHERE r.id = u.id`,
    runs.map((x) => x.run.r.id),
    runs.map((x) => x.cursor),
    runs.map((x) => String(x.run.requestedWh)),
    runs.map((x) => String(carriedWhOf(x.run))),
    runs.map((x) => nextWindowEndAfter(x.run.r, x.cursor)),
  );
}

/**
 * The requests into the outbox in one statement, as `issuance.windows-requested` records: a reservation's
 * requests of the transaction, in order, in one record (a few when their reads pass `RECORD_BYTES`, about
 * 200 bytes a read), as the set-based path writes them (issuance-sql.ts). The service builds them from the
 * contract's own types out of values it checked, so packages/kafka's enqueueEvents takes them as trusted
 * (the event type and the size limit are still checked); the first of each transaction is still checked
 * in full, so a request the code builds wrong fails its transaction (and the tests) instead of reaching
 * the certificate service, which checks every one it consumes.
 */
async function enqueueRequests(tx: Tx, requests: IssuanceRequest[]): Promise<void> {
  if (requests.length === 0) return;
  const records: IssuanceRequest[][] = [];
  let current: IssuanceRequest[] = [];
  let bytes = 0;
  for (const request of requests) {
    const size = 400 + request.contributions.reduce((sum, c) => sum + 60 + 220 * c.reads.length, 0);
    const last = current[current.length - 1];
    if (last !== undefined && (last.reservationId !== request.reservationId || bytes + size > RECORD_BYTES)) {
      records.push(current);
      current = [];
      bytes = 0;
    }
    current.push(request);
    bytes += size;
  }
  records.push(current);
  const payloads = records.map((record) => windowsRequestedOf(record));
  IssuanceWindowsRequestedSchema.parse(payloads[0]);
  await enqueueEvents(
    tx,
    payloads.map((payload) =>
      event(topics.reservationIssuanceRequest, "issuance.windows-requested", payload, {
        key: payload.reservationId,
      }),
    ),
    { trustedPayload: true },
  );
}

async function write(tx: Tx, runs: Run[]): Promise<void> {
  const claims = runs.flatMap((run) =>
    run.claims.map((c) => ({
      reservation_id: run.r.id,
      read_id: c.readId,
      request_id: c.requestId,
      claimed_wh: String(c.claimedWh),
      late: c.late,
    })),
  );
  if (claims.length > 0) {
    // one jsonb parameter: cheaper for PostgreSQL than five arrays of ~10,000 elements each
    await tx.$executeRawUnsafe(
      `UPDATE meter_read m SET reservation_id = c.reservation_id, request_id = c.request_id, claimed_wh = c.claimed_wh, late = c.late
         FROM jsonb_to_recordset($1::jsonb) AS c(reservation_id text, read_id text, request_id uuid, claimed_wh bigint, late bool)
        WHERE m.read_id = c.read_id`,
      JSON.stringify(claims),
    );
  }
  const windows = runs.flatMap((run) => run.windows);
  if (windows.length > 0) {
    // One jsonb parameter for every row: PostgreSQL parses it at once (an array parameter of this size,
    // or Prisma's createMany, cost several times more at 1,000 windows).
    await tx.$executeRawUnsafe(
      `INSERT INTO issuance_window (request_id, idempotency_key, reservation_id, window_start, window_end, version,
                                    energy_wh, carried_over_wh, late, capped, contributions)
       SELECT w.request_id, w.idempotency_key, w.reservation_id, w.window_start, w.window_end, w.version,
              w.energy_wh, w.carried_over_wh, w.late, w.capped, w.contributions
         FROM jsonb_to_recordset($1::jsonb) AS w(request_id uuid, idempotency_key text, reservation_id text,
              window_start timestamptz, window_end timestamptz, version int, energy_wh bigint,
              carried_over_wh bigint, late bool, capped bool, contributions jsonb)`,
      JSON.stringify(
        windows.map((w) => ({
          request_id: w.requestId,
          idempotency_key: w.idempotencyKey,
          reservation_id: w.reservationId,
          window_start: w.windowStart.toISOString(),
          window_end: w.windowEnd.toISOString(),
          version: w.version,
          energy_wh: String(w.energyWh),
          carried_over_wh: String(w.carriedOverWh),
          late: w.late,
          capped: w.capped,
          contributions: w.contributions,
        })),
      ),
    );
  }
  const warnings = runs.flatMap((run) => run.warnings);
  if (warnings.length > 0) await tx.reservationWarning.createMany({ data: warnings });
}

/**
 * One pass: ends reservations past their end (their devices enter the cool-down), then requests every due
 * window and late read, in batches of reservations (at most `reservationsPerTransaction`, and about
 * `windowsPerTransaction` windows, in one transaction). With `signal`, no batch is started after it is
 * aborted (the job's stop does, so a pass of months of windows does not hold up a shutdown; the rest is
 * requested by the next pass). Safe to run from several
 * processes at once (each reservation under its row lock; a window's key is unique).
 */
export async function runIssuance(
  opts: IssuanceOptions,
  now = new Date(),
  signal?: AbortSignal,
): Promise<number> {
  const { db } = opts;
  const expired = await db.reservation.findMany({
    where: { status: "active", end: { lte: now } },
    select: { id: true },
    take: 500,
  });
  for (const { id } of expired) {
    await db.$transaction(async (tx) => {
      const r = await lockReservation(tx, id);
      if (r && r.status === "active" && r.end <= now) await endReservation(tx, r, "expired", r.end);
    });
  }
  const closedBy = new Date(now.getTime() - opts.closeDelayMs);
  const due = await db.reservation.findMany({
    where: { OR: [{ nextWindowEnd: { lte: closedBy } }, { latePending: true }] },
    orderBy: { nextWindowEnd: { sort: "asc", nulls: "first" } },
    select: { id: true, requestedUntil: true, end: true, endedAt: true, frequency: true, latePending: true },
    take: 10_000,
  });
  // Batches of reservations whose windows together stay within the budget of one transaction (estimated
  // from above, so a batch's reservations are all done in it), a few transactions at a time: each under
  // its reservations' row locks, PostgreSQL works while Node builds requests.
  const budget = opts.windowsPerTransaction;
  const perTransaction = opts.reservationsPerTransaction ?? 100;
  const batches: string[][] = [];
  let batch: string[] = [];
  let windows = 0;
  for (const r of due) {
    const estimate = Math.min(estimatedWindows(r, closedBy), budget);
    if (batch.length > 0 && (windows + estimate > budget || batch.length >= perTransaction)) {
      batches.push(batch);
      batch = [];
      windows = 0;
    }
    batch.push(r.id);
    windows += estimate;
  }
  if (batch.length > 0) batches.push(batch);
  let requests = 0;
  const worker = async () => {
    for (let next = batches.shift(); next !== undefined && !signal?.aborted; next = batches.shift()) {
      const result = await requestReservations(opts, next, now);
      requests += result.requests;
      if (result.requests > 0) opts.published();
      // windows left (more than one transaction's) or put off by the budget: a batch of their own
      if (result.again.length > 0) batches.push(result.again);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 3, batches.length) }, worker));
  if (expired.length > 0) opts.published();
  return requests;
}

/**
 * Wakes the issuance loop before its next tick: a reservation was created, changed or ended (routes call
 * it with the outbox relay's nudge after their transaction). Built once per service (context.ts).
 */
export class IssuanceWakeup {
  private wake: (() => void) | null = null;

  nudge(): void {
    this.wake?.();
  }

  /** Resolves after `ms`, or at the next nudge. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

/** The issuance options of the service's configuration (the job's, and the tests' single passes). */
export function issuanceOptions(ctx: {
  db: Db;
  config: Config;
  published: () => void;
  log?: Logger;
}): IssuanceOptions {
  return {
    db: ctx.db,
    minCertificateWh: ctx.config.MIN_CERTIFICATE_WH,
    closeDelayMs: ctx.config.WINDOW_CLOSE_DELAY_SECONDS * 1000,
    windowsPerTransaction: ctx.config.WINDOWS_PER_TRANSACTION,
    reservationsPerTransaction: ctx.config.RESERVATIONS_PER_TRANSACTION,
    published: ctx.published,
    ...(ctx.log ? { logger: ctx.log } : {}),
  };
}

/**
 * Runs issuance every `intervalMs` (and at each nudge of `wakeup`) until stopped; a failed pass is logged
 * and retried at the next tick. The runtime starts it as the service's "issuance" job (service.ts).
 */
export function startIssuance(
  opts: IssuanceOptions & { intervalMs: number },
  wakeup = new IssuanceWakeup(),
): { stop(): Promise<void> } {
  let running = true;
  const stopping = new AbortController();
  const loop = (async () => {
    while (running) {
      try {
        await runIssuance(opts, new Date(), stopping.signal);
      } catch (err) {
        opts.logger?.warn({ err }, "issuance pass failed; retrying at the next tick");
      }
      if (!running) break;
      await wakeup.sleep(opts.intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      stopping.abort();
      wakeup.nudge();
      await loop;
    },
  };
}
