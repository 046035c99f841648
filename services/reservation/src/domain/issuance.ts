/**
 * What one closed window (or one batch of late reads) of a reservation becomes: a pure decision over the
 * reads the reservation may claim. Energy is whole Wh throughout (bigint), so nothing is rounded away.
 *
 * - Reads carried over from earlier windows (below the minimum certificate size) come first, then the
 *   window's reads in order of end, device and id.
 * - Without authority to exceed, the energy is capped at what is left of the target: the read that crosses
 *   the target is claimed in part (the rest of it is not claimed by anybody: a read counts once), the reads
 *   after it stay unclaimed, and the reservation reaches its target.
 * - A total below the minimum certificate size is claimed but carried into the reservation's next window;
 *   a capped remainder below the minimum is not requested (the target is as good as reached).
 */
export interface CandidateRead {
  readId: string;
  deviceId: string;
  version: number;
  contentHash: string;
  start: Date;
  end: Date;
  energyWh: bigint;
  /** the read belongs to a window that was already requested */
  late: boolean;
  /** already claimed by this reservation and carried over (below the minimum); its claimed energy */
  carriedWh?: bigint;
}

export interface ClaimedRead extends CandidateRead {
  /** the energy of the read that goes into the request (≤ energyWh) */
  claimedWh: bigint;
}

export interface IssuanceState {
  /** Wh requested so far by the reservation */
  requestedWh: bigint;
  /** null: no target */
  targetWh: bigint | null;
  authorityToExceed: boolean;
  minCertificateWh: bigint;
}

export type IssuanceDecision =
  | {
      kind: "request";
      energyWh: bigint;
      carriedOverWh: bigint;
      capped: boolean;
      late: boolean;
      /** reads in the request, in order, with what each gave */
      reads: ClaimedRead[];
      /** by device, in order of device id */
      contributions: { deviceId: string; energyWh: bigint; reads: ClaimedRead[] }[];
      /** the target is reached with this request (without authority: the reservation ends) */
      targetReached: boolean;
      /** with authority to exceed: this request takes the total past the target for the first time */
      targetPassed: boolean;
    }
  | {
      kind: "carry";
      /** claimed now, requested with a later window */
      reads: ClaimedRead[];
      carriedWh: bigint;
    }
  | { kind: "nothing"; targetReached: boolean };

const byReadOrder = (a: CandidateRead, b: CandidateRead) =>
  a.end.getTime() - b.end.getTime() ||
  (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0) ||
  (a.readId < b.readId ? -1 : a.readId > b.readId ? 1 : 0);

export function decideIssuance(
  carried: readonly CandidateRead[],
  candidates: readonly CandidateRead[],
  state: IssuanceState,
): IssuanceDecision {
  const ordered = [...carried, ...[...candidates].sort(byReadOrder)];
  const capAt =
    state.targetWh !== null && !state.authorityToExceed ? state.targetWh - state.requestedWh : null;
  if (capAt !== null && capAt <= 0n) return { kind: "nothing", targetReached: true };

  const reads: ClaimedRead[] = [];
  let total = 0n;
  let capped = false;
  for (const read of ordered) {
    const available = read.carriedWh ?? read.energyWh;
    if (available === 0n && read.carriedWh === undefined) continue;
    if (capAt !== null && total + available > capAt) {
      const part = capAt - total;
      if (part > 0n) reads.push({ ...read, claimedWh: part });
      total = capAt;
      capped = true;
      break;
    }
    reads.push({ ...read, claimedWh: available });
    total += available;
  }
  const reached = capAt !== null && total >= capAt;
  if (total < state.minCertificateWh) {
    // A capped remainder below the minimum is never requested; otherwise wait for more energy.
    if (capped || reached) return { kind: "nothing", targetReached: true };
    const fresh = reads.filter((r) => r.carriedWh === undefined);
    if (total === 0n) return { kind: "nothing", targetReached: false };
    return { kind: "carry", reads: fresh, carriedWh: total };
  }

  const carriedOverWh = reads.reduce((sum, r) => (r.carriedWh !== undefined ? sum + r.claimedWh : sum), 0n);
  const byDevice = new Map<string, { deviceId: string; energyWh: bigint; reads: ClaimedRead[] }>();
  for (const read of reads) {
    let c = byDevice.get(read.deviceId);
    if (!c) {
      c = { deviceId: read.deviceId, energyWh: 0n, reads: [] };
      byDevice.set(read.deviceId, c);
    }
    c.energyWh += read.claimedWh;
    c.reads.push(read);
  }
  const contributions = [...byDevice.values()].sort((a, b) =>
    a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0,
  );
  const after = state.requestedWh + total;
  return {
    kind: "request",
    energyWh: total,
    carriedOverWh,
    capped,
    late: reads.some((r) => r.late),
    reads,
    contributions,
    targetReached: reached,
    targetPassed:
      state.authorityToExceed &&
      state.targetWh !== null &&
      state.requestedWh <= state.targetWh &&
      after > state.targetWh,
  };
}

/** Devices of the reservation that sent no read ending in the window (for the window's warning). */
export function devicesWithoutData(deviceIds: readonly string[], reads: readonly CandidateRead[]): string[] {
  const seen = new Set(reads.map((r) => r.deviceId));
  return deviceIds.filter((id) => !seen.has(id));
}
