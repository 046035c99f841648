import type { Logger } from "@energy/kafka";
import type { Db } from "../db.ts";
import type { CentralSystem } from "./central-system.ts";
import type { Commands } from "./commands.ts";

/**
 * What a running instance does every few seconds: refreshes its service_instance row (so others know it
 * holds its sockets), closes sockets whose charger has since connected to another instance, and fails
 * commands that timed out while pending. A job of the runtime (service.ts), never started inside buildApp.
 */
export function startInstanceLoop(opts: {
  db: Db;
  central: CentralSystem;
  commands: Commands;
  instanceId: string;
  intervalMs?: number;
  log: Logger;
}): { stop: () => Promise<void> } {
  const { db, central, instanceId } = opts;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    await db.serviceInstance.upsert({
      where: { id: instanceId },
      create: { id: instanceId },
      update: { lastSeenAt: new Date() },
    });
    const held = central.heldIds();
    if (held.length > 0) {
      // one query on the pool returning only the sockets that were superseded (an instance holding
      // 10,000 chargers would otherwise read, and have Prisma build, 10,000 rows every few seconds)
      const { rows } = await db.pool.query<{ id: string; session: string }>(
        `SELECT s.charge_point_id AS id, s.session_id::text AS session
           FROM charger_session s JOIN unnest($1::text[], $2::uuid[]) AS h(id, session) ON s.charge_point_id = h.id
          WHERE s.instance_id <> $3 OR s.session_id <> h.session`,
        [held, held.map((id) => central.sessionIdOf(id)), instanceId],
      );
      for (const row of rows) await central.dropSuperseded(row.id, row.session);
    }
    await opts.commands.sweepTimeouts();
  };
  const run = () => {
    running = tick().catch((err: unknown) => opts.log.error({ err }, "instance loop failed"));
  };
  run();
  const timer = setInterval(run, opts.intervalMs ?? 5_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await db.serviceInstance.deleteMany({ where: { id: instanceId } }).catch(() => {});
    },
  };
}
