import { KafkaConfigSchema } from "@energy/kafka";
import { BaseConfigSchema } from "@energy/service-kit";
import { z } from "zod";

const positive = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/** The reservation's configuration, parsed once from the environment by the runtime (a bad variable names itself). */
export const ConfigSchema = BaseConfigSchema.extend(KafkaConfigSchema.shape).extend({
  PORT: z.coerce.number().int().min(0).max(65_535).default(4005),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  /**
   * The smallest certificate, in Wh (drec-origin's is 1 kWh): a window with less energy carries it into
   * the reservation's next window.
   */
  MIN_CERTIFICATE_WH: positive(1_000),
  /**
   * How long after a window's end its reads are still waited for before it is requested (meter-read
   * publishes a device's reads in batches). Reads that come later go into a later request, marked late.
   */
  WINDOW_CLOSE_DELAY_SECONDS: z.coerce.number().int().min(0).default(300),
  /** How often due windows, late reads and expired reservations are looked for. */
  ISSUANCE_INTERVAL_MS: positive(5_000),
  /** Most windows of one reservation requested in one transaction (a 12-month-old hourly one has 8,760). */
  WINDOWS_PER_TRANSACTION: positive(1_000),
  /** Most reservations requested together in one transaction (their windows count against the above). */
  RESERVATIONS_PER_TRANSACTION: positive(100),
  /** The plausibility yield used for expected production when grouping candidates (kWh per kWp per year). */
  DEFAULT_YIELD_KWH_PER_KWP_YEAR: positive(1_500),
});
export type Config = z.infer<typeof ConfigSchema>;
