import { createPrivateKey, createPublicKey } from "node:crypto";
import { KafkaConfigSchema } from "@energy/kafka";
import { BaseConfigSchema, loadConfig } from "@energy/service-kit";
import { z } from "zod";
import { KeyError, parsePublicKey } from "./domain/keys.ts";

/** An ES256 private key in PKCS8 PEM; literal "\n" escapes (one-line env files) become newlines. */
const PrivateKeyPemSchema = z
  .string()
  .transform((value) => value.replaceAll("\\n", "\n").trim())
  .refine(isP256PrivateKey, "must be a PEM-encoded P-256 (ES256) private key");

function isP256PrivateKey(pem: string): boolean {
  try {
    const key = createPrivateKey(pem);
    return key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1";
  } catch {
    return false;
  }
}

/** The platform root's Ed25519 public key, stored normalized (base64url of the 32 raw bytes). */
const RootPublicKeySchema = z.string().transform((value, ctx) => {
  try {
    return parsePublicKey("root", value.replaceAll("\\n", "\n")).publicKey;
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      message:
        error instanceof KeyError
          ? "must be an Ed25519 public key (hex, base64, base64url or SPKI PEM)"
          : "invalid",
    });
    return z.NEVER;
  }
});

/** The mail catcher a development or test run talks to when SMTP_URL is not set. */
export const DEV_SMTP_URL = "smtp://127.0.0.1:1025";

const seconds = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

export const ConfigSchema = BaseConfigSchema.extend(KafkaConfigSchema.shape)
  .extend({
    PORT: z.coerce.number().int().min(1).max(65_535).default(4001),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
    /** Signs the access tokens; its public half is JWT_PUBLIC_KEY. */
    JWT_PRIVATE_KEY: PrivateKeyPemSchema,
    ACCESS_TOKEN_TTL_SECONDS: seconds(900),
    REFRESH_TOKEN_TTL_SECONDS: seconds(30 * 24 * 3600),
    CHALLENGE_TTL_SECONDS: seconds(120),
    /** How long a gateway's one-time claim code (POST /gateways/:gatewayId/claim-code) stays good. */
    CLAIM_CODE_TTL_SECONDS: seconds(900),
    /** When set, the root identity is created from it at first start (idempotent). */
    ROOT_PUBLIC_KEY: RootPublicKeySchema.optional(),
    /** Where invitation mails go, e.g. smtp://127.0.0.1:1025; required in production (see the transform below). */
    SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
    MAIL_FROM: z.string().trim().min(1).default("Energy Platform <no-reply@energy.local>"),
    /** The device owners' reservation mails (src/reservation-mails.ts): the first retry's delay, doubled per attempt. */
    MAIL_RETRY_BASE_MS: z.coerce.number().int().min(1).max(3_600_000).default(5_000),
    /** Attempts before a reservation mail is given up (a permanent 5xx refusal gives up at once). */
    MAIL_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
    INVITATION_TTL_HOURS: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 365)
      .default(72),
  })
  .superRefine((config, ctx) => {
    if (config.SMTP_URL === undefined && config.NODE_ENV === "production") {
      ctx.addIssue({ code: "custom", path: ["SMTP_URL"], message: "required (e.g. smtp://mail:25)" });
    }
    if (!keysMatch(config.JWT_PRIVATE_KEY, config.JWT_PUBLIC_KEY)) {
      ctx.addIssue({
        code: "custom",
        path: ["JWT_PRIVATE_KEY"],
        message: "does not match JWT_PUBLIC_KEY (tokens it signs would not verify)",
      });
    }
  })
  // Outside production a local mail catcher is assumed when SMTP_URL is unset.
  .transform((config) => ({ ...config, SMTP_URL: config.SMTP_URL ?? DEV_SMTP_URL }));
export type Config = z.infer<typeof ConfigSchema>;

function keysMatch(privatePem: string, publicPem: string): boolean {
  try {
    const derived = createPublicKey(createPrivateKey(privatePem)).export({ type: "spki", format: "der" });
    const given = createPublicKey(publicPem).export({ type: "spki", format: "der" });
    return derived.equals(given);
  } catch {
    return false;
  }
}

/** The registry's configuration from the environment, parsed once; a bad variable stops start-up naming it. */
export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => loadConfig(ConfigSchema, env);
