import type { AnyTopic } from "@energy/contracts";
import {
  type AnyEventPayload,
  type BatchHandler,
  type BatchSubscription,
  defineBatchSubscription,
} from "./batch-consumer.ts";
import type { EventHandlers, Subscription } from "./consumer.ts";
import type { SqlClient } from "./db.ts";

/**
 * The subscription builders of one service, typed for its database transaction (`Tx`, e.g.
 * `Prisma.TransactionClient`) and the context its handlers get as `ctx.service` (`S`). A service
 * creates them once, next to its database client:
 *
 *   export const { defineSubscription, defineBatchSubscription } = consumersFor<Tx, IngestionContext>();
 *
 * and declares one subscription per consumed topic, in a file of its own:
 *
 *   export const devices = defineSubscription(topics.registryDevice, {
 *     "device.registered": async (device, { tx }) => { await tx.device.upsert(…) },
 *   });
 */
export function consumersFor<Tx extends SqlClient, S = unknown>() {
  return {
    /** One topic's handlers keyed by event type; each gets the runner's transaction as `tx`. */
    defineSubscription<T extends AnyTopic>(topic: T, handlers: EventHandlers<T, Tx, S>): Subscription<Tx, S> {
      return { topic, handlers };
    },
    /** One topic's chunks of messages (idempotency is the handler's: see BatchConsumerRunner). */
    defineBatchSubscription<T extends AnyTopic>(
      topic: T,
      handler: BatchHandler<AnyEventPayload<T>, S>,
      options: { trustedPayload?: boolean } = {},
    ): BatchSubscription<S> {
      return defineBatchSubscription(topic, handler, options);
    },
  };
}
