import type { ReadSource } from "@energy/contracts";
import { conflict } from "@energy/service-kit";
import { type Db, type SqlTx, sqlTransaction } from "../db.ts";
import { checkSwitch, type SourceLog } from "../domain/read-source.ts";
import { lockDevices } from "./store.ts";

export interface SourceSwitchView {
  from: string;
  source: ReadSource;
  switchedBy: string;
  switchedAt: string;
}

export interface ReadSourceView {
  deviceId: string;
  /** The source before the first switch (the first stored read's), null while the device has none. */
  initialSource: ReadSource | null;
  switches: SourceSwitchView[];
}

async function load(tx: SqlTx, deviceId: string): Promise<ReadSourceView & { log: SourceLog }> {
  const [device] = await tx.$queryRawUnsafe<Array<{ read_source: ReadSource | null }>>(
    "SELECT read_source FROM device WHERE id = $1",
    deviceId,
  );
  const rows = await tx.$queryRawUnsafe<
    Array<{ from_at: Date; source: ReadSource; switched_by: string; switched_at: Date }>
  >(
    "SELECT from_at, source, switched_by, switched_at FROM device_read_source WHERE device_id = $1 ORDER BY from_at",
    deviceId,
  );
  const initialSource = device?.read_source ?? null;
  return {
    deviceId,
    initialSource,
    switches: rows.map((r) => ({
      from: r.from_at.toISOString(),
      source: r.source,
      switchedBy: r.switched_by,
      switchedAt: r.switched_at.toISOString(),
    })),
    log: {
      initial: initialSource,
      switches: rows.map((r) => ({ fromMs: r.from_at.getTime(), source: r.source })),
    },
  };
}

/** A device's source and its switches. */
export async function readSource(db: Db, deviceId: string): Promise<ReadSourceView> {
  const { log: _, ...view } = await sqlTransaction(db, (tx) => load(tx, deviceId));
  return view;
}

/**
 * Switches a device's reads to `source` from `fromMs`, under the device's lock (the one reads are stored
 * under, so no read can be stored across the switch while it is made). Refused (409) when a stored read
 * ends after `fromMs`, when it is not after the last switch, or when `source` is already in force then;
 * the same switch again changes nothing (`changed: false`).
 */
export async function switchReadSource(
  db: Db,
  deviceId: string,
  source: ReadSource,
  fromMs: number,
  identityId: string,
): Promise<ReadSourceView & { changed: boolean }> {
  return sqlTransaction(db, async (tx) => {
    await lockDevices(tx, [deviceId]);
    const before = await load(tx, deviceId);
    const [latest] = await tx.$queryRawUnsafe<Array<{ end_at: Date | null }>>(
      "SELECT max(end_at) AS end_at FROM meter_read WHERE device_id = $1",
      deviceId,
    );
    const verdict = checkSwitch(before.log, latest?.end_at?.getTime() ?? null, source, fromMs);
    if (!verdict.ok) throw conflict(verdict.code, verdict.message);
    if (!verdict.same) {
      await tx.$executeRawUnsafe(
        "INSERT INTO device_read_source (device_id, from_at, source, switched_by) VALUES ($1, $2, $3, $4)",
        deviceId,
        new Date(fromMs),
        source,
        identityId,
      );
    }
    const { log: _, ...view } = verdict.same ? before : await load(tx, deviceId);
    return { ...view, changed: !verdict.same };
  });
}
