import { type IssuanceFrequency, type IssuanceRequest, topics } from "@energy/contracts";
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
import {
  buyerOrganization,
  currentDevices,
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
  /** reservations requested at the same time (default 3) */
  concurrency?: number;
  /** wakes the outbox relay */
  published: () => void;
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
    const deviceById = new Map(this.devices.map((d) => [d.id, d]));
    const contributions = decision.contributions.map((c) => ({
      ...reservedDevice(deviceById.get(c.deviceId) ?? unknownDevice(c.deviceId)),
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

/**
 * Requests the closed windows of one reservation, and its late reads, in one transaction under the
 * reservation's row lock: the claims of the reads, the window rows (unique idempotency key), the warnings,
 * the new cursor and the outbox messages commit together or not at all, so a crash at any point never
 * requests a window twice, and a re-run continues where the last commit left off. Returns the number of
 * requests made and whether windows are left for another transaction.
 */
export async function requestReservation(
  opts: IssuanceOptions,
  reservationId: string,
  now: Date,
): Promise<{ requests: number; more: boolean }> {
  return opts.db.$transaction(
    async (tx) => {
      const r = await lockReservation(tx, reservationId);
      if (!r) return { requests: 0, more: false };
      const period = periodOf(r);
      const closedBy = new Date(Math.min(now.getTime() - opts.closeDelayMs, period.end.getTime()));
      const windows =
        r.endReason === "target_reached"
          ? []
          : closedWindows(period, r.requestedUntil, closedBy, opts.windowsPerTransaction);
      if (windows.length === 0 && !r.latePending) {
        // Nothing closed: only keep the due marker right (e.g. after an early end).
        const next = nextWindowEndAfter(r, r.requestedUntil);
        if (next?.getTime() !== r.nextWindowEnd?.getTime()) {
          await tx.reservation.update({ where: { id: r.id }, data: { nextWindowEnd: next } });
        }
        return { requests: 0, more: false };
      }
      const devices = await currentDevices(tx, r.id);
      const deviceIds = devices.map((d) => d.id);
      const run = new Run(r, devices, await buyerOrganization(tx, r), BigInt(opts.minCertificateWh), now);
      const carriedRows = await tx.$queryRawUnsafe<ReadRow[]>(
        `SELECT ${READ_COLUMNS} FROM meter_read WHERE reservation_id = $1 AND request_id IS NULL ORDER BY "end", device_id, read_id FOR UPDATE`,
        r.id,
      );
      run.carried = carriedRows.map((row) => toCandidate(row, false));

      // Late reads first (they belong to earlier windows): a new version of their window each.
      if (r.latePending && r.endReason !== "target_reached") {
        const late = await unclaimedReads(tx, deviceIds, r.start, r.requestedUntil);
        const byWindow = new Map<number, { window: Window; reads: CandidateRead[] }>();
        for (const row of late) {
          const window = windowAt(new Date(row.end.getTime() - 1), period);
          const entry = byWindow.get(window.start.getTime()) ?? { window, reads: [] };
          entry.reads.push(toCandidate(row, true));
          byWindow.set(window.start.getTime(), entry);
        }
        const starts = [...byWindow.keys()].sort((a, b) => a - b);
        const versions = await tx.issuanceWindow.groupBy({
          by: ["windowStart"],
          where: { reservationId: r.id, windowStart: { in: starts.map((s) => new Date(s)) } },
          _max: { version: true },
        });
        const latest = new Map(versions.map((v) => [v.windowStart.getTime(), v._max.version ?? 0]));
        for (const start of starts) {
          const entry = byWindow.get(start)!;
          if (!run.decide(entry.window, entry.reads, (latest.get(start) ?? 0) + 1)) break;
        }
      }

      let cursor = r.requestedUntil;
      if (windows.length > 0 && !run.targetReached) {
        const first = windows[0]!;
        const last = windows[windows.length - 1]!;
        const rows = await unclaimedReads(tx, deviceIds, first.start, last.end);
        const buckets: CandidateRead[][] = windows.map(() => []);
        for (const row of rows) {
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

      await write(tx, run);
      let updated: Reservation = await tx.reservation.update({
        where: { id: r.id },
        data: {
          requestedUntil: cursor,
          requestedWh: run.requestedWh,
          carriedWh: run.carried.reduce((sum, read) => sum + (read.carriedWh ?? 0n), 0n),
          latePending: false,
        },
      });
      if (run.targetReached && !r.authorityToExceed) {
        updated = await endReservation(tx, updated, "target_reached", now);
      }
      await tx.reservation.update({
        where: { id: r.id },
        data: { nextWindowEnd: nextWindowEndAfter(updated, cursor) },
      });
      await enqueueRequests(tx, r.id, run.requests);
      const more = windows.length === opts.windowsPerTransaction && !run.targetReached;
      return { requests: run.requests.length, more };
    },
    { timeout: 120_000, maxWait: 10_000 },
  );
}

/**
 * The requests into the outbox in one statement (a reservation that starts months in the past has
 * thousands of windows): packages/kafka's enqueueEvents checks each against its contract and the size
 * limit, as enqueueEvent does; the envelope id is the request id.
 */
async function enqueueRequests(tx: Tx, reservationId: string, requests: IssuanceRequest[]): Promise<void> {
  await enqueueEvents(
    tx,
    requests.map((request) =>
      event(topics.reservationIssuanceRequest, "issuance.requested", request, {
        key: reservationId,
        id: request.requestId,
      }),
    ),
  );
}

async function write(tx: Tx, run: Run): Promise<void> {
  if (run.claims.length > 0) {
    await tx.$executeRawUnsafe(
      `UPDATE meter_read m SET reservation_id = $1, request_id = c.request_id, claimed_wh = c.claimed_wh, late = c.late
         FROM unnest($2::text[], $3::uuid[], $4::bigint[], $5::bool[]) AS c(read_id, request_id, claimed_wh, late)
        WHERE m.read_id = c.read_id`,
      run.r.id,
      run.claims.map((c) => c.readId),
      run.claims.map((c) => c.requestId),
      run.claims.map((c) => String(c.claimedWh)),
      run.claims.map((c) => c.late),
    );
  }
  if (run.windows.length > 0) await tx.issuanceWindow.createMany({ data: run.windows });
  if (run.warnings.length > 0) await tx.reservationWarning.createMany({ data: run.warnings });
}

/**
 * One pass: ends reservations past their end (their devices enter the cool-down), then requests every due
 * window and late read, reservation by reservation. Safe to run from several processes at once (each
 * reservation under its row lock; a window's key is unique).
 */
export async function runIssuance(opts: IssuanceOptions, now = new Date()): Promise<number> {
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
  const due = await db.$queryRawUnsafe<{ id: string }[]>(
    `SELECT id FROM reservation
      WHERE next_window_end <= $1::timestamptz OR late_pending
      ORDER BY next_window_end NULLS FIRST LIMIT 1000`,
    closedBy,
  );
  let requests = 0;
  // A few reservations at a time (each under its own row lock): PostgreSQL works while Node builds requests.
  const queue = due.map((d) => d.id);
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      for (;;) {
        const result = await requestReservation(opts, id, now);
        requests += result.requests;
        if (result.requests > 0) opts.published();
        if (!result.more) break;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 3, queue.length) }, worker));
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
  const loop = (async () => {
    while (running) {
      try {
        await runIssuance(opts);
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
      wakeup.nudge();
      await loop;
    },
  };
}
