import type { KafkaMessage } from "kafkajs";
import type { Logger } from "./db.ts";
import type { EventProducer } from "./producer.ts";
import { type WaitHooks, waitWhileHeartbeating } from "./retry.ts";

/** Where a dead letter came from: the full topic name (with prefix), its partition, the consumer group. */
export interface DeadLetterOrigin {
  topic: string;
  partition: number;
  groupId: string;
}

/**
 * The headers of a dead letter: the original ones (the envelope among them) plus
 * `dlq-origin-topic/partition/offset`, `dlq-consumer-group`, `dlq-error` and `dlq-failed-at`.
 */
export function deadLetterHeaders(
  message: KafkaMessage,
  origin: DeadLetterOrigin,
  error: unknown,
): Record<string, string | Buffer> {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const headers: Record<string, string | Buffer> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : v;
  }
  return Object.assign(headers, {
    "dlq-origin-topic": origin.topic,
    "dlq-origin-partition": String(origin.partition),
    "dlq-origin-offset": message.offset,
    "dlq-consumer-group": origin.groupId,
    "dlq-error": reason.slice(0, 4_000),
    "dlq-failed-at": new Date().toISOString(),
  });
}

/**
 * Sends a message as it was consumed (key, value, headers) to `<origin topic>.dlq` with the headers
 * above. Retried with backoff until the broker takes it; resolves false only when the runner is
 * stopping before it did (the message's offset must then stay uncommitted).
 */
export async function sendToDeadLetter(
  producer: EventProducer,
  origin: DeadLetterOrigin,
  message: KafkaMessage,
  error: unknown,
  hooks: WaitHooks & { logger: Logger },
): Promise<boolean> {
  const headers = deadLetterHeaders(message, origin, error);
  for (let attempt = 1; ; attempt++) {
    try {
      await producer.sendRaw(`${origin.topic}.dlq`, [{ key: message.key, value: message.value, headers }]);
      return true;
    } catch (sendError) {
      if (hooks.isStopping()) return false;
      hooks.logger.error({ err: sendError, attempt }, "could not write to the DLQ, retrying");
      if (!(await waitWhileHeartbeating(Math.min(200 * 2 ** attempt, 10_000), hooks))) return false;
    }
  }
}
