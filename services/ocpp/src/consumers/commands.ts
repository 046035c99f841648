import type { EventPayload, topics } from "@energy/contracts";
import { ConsumerRunner, type ConsumerRunnerOptions, type EventProducer, type Logger } from "@energy/kafka";
import type { Commands } from "../central/commands.ts";

/** Each instance has its own group (`ocpp.commands.<instanceId>`): every instance sees every command. */
export const commandGroupId = (instanceId: string) => `ocpp.commands.${instanceId}`;

type Requested = EventPayload<typeof topics.ocppCommand, "command.requested">;

/**
 * ocpp.command.v1 → the command is logged (once per commandId) and routed: the instance holding the
 * charger's socket sends it; see Commands for who answers when nobody does. A new instance starts at the
 * topic's end: commands older than the instance were routed by the instances that existed then.
 */
export function commandConsumer(opts: {
  kafka: ConsumerRunnerOptions["kafka"];
  producer: EventProducer;
  commands: Commands;
  instanceId: string;
  topicPrefix?: string;
  logger?: Logger;
  groupId?: string;
}): ConsumerRunner {
  return new ConsumerRunner({
    kafka: opts.kafka,
    producer: opts.producer,
    groupId: opts.groupId ?? commandGroupId(opts.instanceId),
    topicPrefix: opts.topicPrefix,
    fromBeginning: false,
    maxWaitTimeMs: 100,
    ...(opts.logger ? { logger: opts.logger } : {}),
    subscriptions: [
      {
        topic: "ocpp.command.v1",
        handlers: {
          "command.requested": async (p: Requested, ctx) => {
            await opts.commands.submit(
              {
                commandId: p.commandId,
                chargePointId: p.chargePointId,
                request: p.request,
                requestedBy: p.requestedBy,
                correlationId: ctx.envelope.correlationId,
                causationId: ctx.envelope.id,
                source: "kafka",
              },
              null,
            );
          },
        },
      },
    ],
  });
}
