import { generateKeyPairSync } from "node:crypto";
import { ConfigError } from "@energy/service-kit";
import { describe, expect, it } from "vitest";
import { readConfig } from "../src/config.ts";

const pair = () => {
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    publicPem: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    privatePem: keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
};
const mine = pair();
const base = {
  DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/energy_registry",
  KAFKA_BROKERS: "127.0.0.1:9092",
  JWT_PUBLIC_KEY: mine.publicPem,
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    readConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => `${p.variable}: ${p.problem}`);
  }
}

describe("registry config", () => {
  it("accepts a matching key pair, with one-line \\n escapes, and applies the defaults", () => {
    const config = readConfig({ ...base, JWT_PRIVATE_KEY: mine.privatePem.replaceAll("\n", "\\n") });
    expect(config).toMatchObject({
      ACCESS_TOKEN_TTL_SECONDS: 900,
      REFRESH_TOKEN_TTL_SECONDS: 2_592_000,
      CHALLENGE_TTL_SECONDS: 120,
    });
    expect(config.ROOT_PUBLIC_KEY).toBeUndefined();
  });

  it("defaults the mail settings, with a local mail catcher outside production", () => {
    const config = readConfig({ ...base, JWT_PRIVATE_KEY: mine.privatePem, NODE_ENV: "test" });
    expect(config).toMatchObject({
      SMTP_URL: "smtp://127.0.0.1:1025",
      MAIL_FROM: "Energy Platform <no-reply@energy.local>",
      INVITATION_TTL_HOURS: 72,
    });
    const production = readConfig({
      ...base,
      JWT_PRIVATE_KEY: mine.privatePem,
      NODE_ENV: "production",
      SMTP_URL: "smtps://mail.example.com:465",
    });
    expect(production.SMTP_URL).toBe("smtps://mail.example.com:465");
  });

  const refused: [string, Record<string, string>, RegExp][] = [
    ["a missing private key", {}, /^JWT_PRIVATE_KEY: required/],
    [
      "a private key of another pair",
      { JWT_PRIVATE_KEY: pair().privatePem },
      /^JWT_PRIVATE_KEY: does not match JWT_PUBLIC_KEY/,
    ],
    [
      "a public key as the private key",
      { JWT_PRIVATE_KEY: mine.publicPem },
      /^JWT_PRIVATE_KEY: must be .*P-256/,
    ],
    [
      "an Ed25519 private key",
      {
        JWT_PRIVATE_KEY: generateKeyPairSync("ed25519")
          .privateKey.export({ type: "pkcs8", format: "pem" })
          .toString(),
      },
      /^JWT_PRIVATE_KEY: must be .*P-256/,
    ],
    [
      "a P-256 root key",
      { JWT_PRIVATE_KEY: mine.privatePem, ROOT_PUBLIC_KEY: mine.publicPem },
      /^ROOT_PUBLIC_KEY: must be an Ed25519/,
    ],
    [
      "a missing SMTP_URL in production",
      { JWT_PRIVATE_KEY: mine.privatePem, NODE_ENV: "production" },
      /^SMTP_URL: required/,
    ],
    [
      "an SMTP_URL that is not smtp:// or smtps://",
      { JWT_PRIVATE_KEY: mine.privatePem, SMTP_URL: "http://mail.example.com" },
      /^SMTP_URL/,
    ],
    [
      "a zero TTL",
      { JWT_PRIVATE_KEY: mine.privatePem, CHALLENGE_TTL_SECONDS: "0" },
      /^CHALLENGE_TTL_SECONDS/,
    ],
  ];
  it.each(refused)("refuses %s, naming the variable", (_label, env, problem) => {
    const problems = problemsOf({ ...base, ...env });
    expect(problems.some((p) => problem.test(p))).toBe(true);
  });
});
