import { z } from "zod";

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
});
export type KafkaConfig = z.infer<typeof KafkaConfigSchema>;
