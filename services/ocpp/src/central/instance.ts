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
      const rows = await db.chargerSession.findMany({
        where: { chargePointId: { in: held } },
        select: { chargePointId: true, instanceId: true, sessionId: true },
      });
      const byId = new Map(rows.map((r) => [r.chargePointId, r]));
      for (const id of held) {
        const row = byId.get(id);
        if (row && (row.instanceId !== instanceId || row.sessionId !== central.sessionIdOf(id))) {
          await central.dropSuperseded(id, row.sessionId);
        }
      }
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
