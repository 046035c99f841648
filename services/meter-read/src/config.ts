import { KafkaConfigSchema } from "@energy/kafka";
import { BaseConfigSchema } from "@energy/service-kit";
import { z } from "zod";

const positive = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/** meter-read's configuration, parsed once from the environment by the runtime (a bad variable names itself). */
export const ConfigSchema = BaseConfigSchema.extend(KafkaConfigSchema.shape).extend({
  PORT: z.coerce.number().int().min(0).max(65_535).default(4004),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  /** Most reads in one POST (the benchmark's batches are 10,000). */
  BATCH_MAX_READS: positive(10_000),
  /** Largest request body, in bytes (10,000 history reads are ~1.1 MB of JSON). */
  BODY_MAX_BYTES: positive(8 * 1024 * 1024),
  /** How far ahead of the service's clock a read's end may be (the developer's clock drifts). */
  FUTURE_TOLERANCE_SECONDS: positive(300),
});
export type Config = z.infer<typeof ConfigSchema>;
