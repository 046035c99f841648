import { topics } from "@energy/contracts";
import { defineSubscription } from "@energy/kafka";
import type { OcppContext } from "../context.ts";

/**
 * ocpp.command.v1 → the command is logged (once per commandId) and routed: the instance holding the
 * charger's socket sends it; see Commands for who answers when nobody does. Each instance consumes it in
 * a group of its own (service.ts), so every instance sees every command; a new instance starts at the
 * topic's end: commands older than the instance were routed by the instances that existed then.
 * The group is not transactional (no processed_message record: the instances share one database, and
 * each must see the command); a command is logged once by its commandId.
 */
export const ocppCommands = defineSubscription<typeof topics.ocppCommand, OcppContext>(topics.ocppCommand, {
  "command.requested": (p, { envelope, service }) =>
    service.commands.submit(
      {
        commandId: p.commandId,
        chargePointId: p.chargePointId,
        request: p.request,
        requestedBy: p.requestedBy,
        correlationId: envelope.correlationId,
        causationId: envelope.id,
        source: "kafka",
      },
      null,
    ),
});
