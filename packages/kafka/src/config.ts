import { z } from "zod";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./message-size.ts";

/** The Kafka part of a service's environment. */
export const KafkaConfigSchema = z.object({
  KAFKA_BROKERS: z
    .string()
    .min(1)
    .describe("comma-separated host:port list, e.g. 127.0.0.1:9092")
    .refine((v) => v.split(",").every((b) => /^[^\s:]+:\d+$/.test(b.trim())), {
      message: "expected a comma-separated list of host:port",
    }),
  /** Prepended to every topic name (tests use a prefix per test file). */
  KAFKA_TOPIC_PREFIX: z.string().default(""),
  /**
   * The largest event (key + value + headers) the service writes: keep it at or under the broker's
   * message.max.bytes (1,048,588 by default). A bigger event is refused where it is made (HTTP 413).
   */
  KAFKA_MAX_MESSAGE_BYTES: z.coerce.number().int().min(1024).default(DEFAULT_MAX_MESSAGE_BYTES),
  /** /readyz fails while the oldest unsent outbox row is older than this. */
  OUTBOX_MAX_PENDING_AGE_SECONDS: z.coerce.number().int().min(1).default(60),
});
export type KafkaConfig = z.infer<typeof KafkaConfigSchema>;
