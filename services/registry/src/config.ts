import { KafkaConfigSchema } from "@energy/kafka";
import { BaseConfigSchema, loadConfig } from "@energy/service-kit";
import { z } from "zod";

export const ConfigSchema = BaseConfigSchema.extend(KafkaConfigSchema.shape).extend({
  PORT: z.coerce.number().int().min(1).max(65_535).default(4001),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
});
export type Config = z.infer<typeof ConfigSchema>;

/** The registry's configuration from the environment, parsed once; a bad variable stops start-up naming it. */
export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => loadConfig(ConfigSchema, env);
