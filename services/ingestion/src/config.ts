import { KafkaConfigSchema } from "@energy/kafka";
import { BaseConfigSchema, loadConfig } from "@energy/service-kit";
import { z } from "zod";

const positive = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

export const ConfigSchema = BaseConfigSchema.extend(KafkaConfigSchema.shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65_535).default(4002),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
    /** Largest HTTP telemetry batch, in bytes after gzip is undone. */
    BATCH_MAX_BYTES: positive(4 * 1024 * 1024),
    /** Most readings in one batch (HTTP, WebSocket frame or raw Kafka batch). */
    BATCH_MAX_READINGS: positive(5_000),
    /** How far ahead of the receiving clock a reading's timestamp may be (device clocks drift). */
    FUTURE_TOLERANCE_SECONDS: positive(300),
    /** The earliest reading timestamp accepted (ISO 8601): before it no reading is plausible (a clock not set). */
    MIN_READING_TIMESTAMP: z.iso.datetime({ offset: true }).default("2000-01-01T00:00:00Z"),
    /**
     * The most the telemetry store may fall behind the acknowledgements (s). From half of it on, gateways
     * are slowed (HTTP 503 with Retry-After, WebSocket answers wait) until the store has caught up.
     */
    STORE_LAG_MAX_SECONDS: positive(5),
    /** How long raw readings are kept (day partitions older than this are dropped). */
    RAW_RETENTION_DAYS: positive(30),
    /** A device without telemetry for this long goes stale … */
    STALE_AFTER_SECONDS: positive(300),
    /** … and after this long, disconnected. */
    DISCONNECTED_AFTER_SECONDS: positive(3_600),
    /** How often liveness and partitions are looked after. */
    SWEEP_INTERVAL_SECONDS: positive(15),
  })
  .superRefine((config, ctx) => {
    if (config.DISCONNECTED_AFTER_SECONDS <= config.STALE_AFTER_SECONDS) {
      ctx.addIssue({
        code: "custom",
        path: ["DISCONNECTED_AFTER_SECONDS"],
        message: "must be longer than STALE_AFTER_SECONDS (a device goes stale before it is disconnected)",
      });
    }
  });
export type Config = z.infer<typeof ConfigSchema>;

/** The service's configuration from the environment, parsed once; a bad variable stops start-up naming it. */
export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => loadConfig(ConfigSchema, env);
