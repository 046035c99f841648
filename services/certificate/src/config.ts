import { KafkaConfigSchema } from "@energy/kafka";
import { BaseConfigSchema, loadConfig } from "@energy/service-kit";
import { z } from "zod";

const positive = (fallback: number) => z.coerce.number().int().min(1).default(fallback);
const seconds = (fallback: number) => z.coerce.number().min(0.01).default(fallback);
const gwei = (fallback: number) => z.coerce.number().positive().default(fallback);

export const GasTierSchema = z.enum(["fast", "standard", "slow"]);
export type GasTier = z.infer<typeof GasTierSchema>;

export const ConfigSchema = BaseConfigSchema.extend(KafkaConfigSchema.shape).extend({
  PORT: z.coerce.number().int().min(0).max(65_535).default(4006),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  /** Any EVM JSON-RPC endpoint (anvil locally). */
  CHAIN_RPC_URL: z.url({ protocol: /^https?$/ }),
  /** The issuer's signing key: the only one the registry contract lets issue. */
  ISSUER_PRIVATE_KEY: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be 0x followed by 64 hex digits"),
  /** The deployed CertificateRegistry; empty: deploy it once and remember it in the database. */
  REGISTRY_ADDRESS: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address")
    .optional(),
  /** Blocks on top of (and including) the one a transaction is in before it counts as confirmed. */
  CONFIRMATIONS: positive(2),
  /** The tier of a request that names none. */
  DEFAULT_GAS_TIER: GasTierSchema.default("standard"),
  /** How long a transaction of each tier may wait to be mined before it is replaced with higher fees. */
  FAST_TIER_SECONDS: seconds(30),
  STANDARD_TIER_SECONDS: seconds(300),
  SLOW_TIER_SECONDS: seconds(1_800),
  /** Fee caps, never exceeded, replacements included. */
  MAX_FEE_PER_GAS_GWEI: gwei(200),
  MAX_PRIORITY_FEE_PER_GAS_GWEI: gwei(20),
  /** Most certificates minted in one batchIssue transaction. */
  BATCH_MAX: positive(50),
  /** How often the chain is polled for receipts, new blocks and claims. */
  POLL_INTERVAL_MS: positive(1_000),
  /** A request whose transaction cannot be sent or mined after this many RPC failures ends failed. */
  MAX_SEND_ATTEMPTS: positive(8),
});
export type Config = z.infer<typeof ConfigSchema>;

/** The service's configuration from the environment, parsed once; a bad variable stops start-up naming it. */
export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => loadConfig(ConfigSchema, env);
