import { createPublicKey } from "node:crypto";
import { z } from "zod";

/** A PEM public key from the environment; literal "\n" escapes (one-line env files) become newlines. */
const PublicKeyPemSchema = z
  .string()
  .transform((value) => value.replaceAll("\\n", "\n").trim())
  .refine((pem) => !pem.includes("PRIVATE KEY"), "must be a public key, not a private key")
  .refine(isP256PublicKey, "must be a PEM-encoded P-256 (ES256) public key");

function isP256PublicKey(pem: string): boolean {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1";
  } catch {
    return false;
  }
}

/** Environment every service reads; extend it with `BaseConfigSchema.extend({...})`. */
export const BaseConfigSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  JWT_PUBLIC_KEY: PublicKeyPemSchema,
  JWT_ISSUER: z.string().min(1).default("energy-registry"),
  JWT_AUDIENCE: z.string().min(1).default("energy-platform"),
});
export type BaseConfig = z.infer<typeof BaseConfigSchema>;

export type ConfigProblem = { variable: string; problem: string };

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`Invalid configuration: ${problems.map((p) => `${p.variable}: ${p.problem}`).join(", ")}`);
  }
}

/**
 * Parses the environment once, at start-up. Empty variables count as unset (so defaults apply).
 * Throws a ConfigError naming every bad variable and why; values are never echoed (they may be secrets).
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.output<S> {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  const result = schema.safeParse(present);
  if (result.success) return result.data;

  const problems = result.error.issues.map((issue): ConfigProblem => {
    const variable = issue.path.length > 0 ? issue.path.map(String).join(".") : "(environment)";
    const top = issue.path[0];
    const missing = typeof top === "string" && present[top] === undefined;
    return { variable, problem: missing ? "required" : describe(issue) };
  });
  throw new ConfigError(problems);
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type") return `expected ${issue.expected}`;
  return issue.message;
}
