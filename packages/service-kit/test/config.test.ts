import { describe, expect, it } from "vitest";
import { z } from "zod";
import { BaseConfigSchema, ConfigError, loadConfig } from "../src/index.ts";
import { keyPair } from "./helpers.ts";

const { publicKeyPem, privateKeyPem } = keyPair();

describe("loadConfig", () => {
  it("parses the environment, applying defaults and coercing the port", () => {
    const config = loadConfig(BaseConfigSchema, {
      PORT: "3001",
      JWT_PUBLIC_KEY: publicKeyPem,
      UNRELATED: "x",
    });
    expect(config).toEqual({
      NODE_ENV: "development",
      HOST: "127.0.0.1",
      PORT: 3001,
      LOG_LEVEL: "info",
      JWT_PUBLIC_KEY: publicKeyPem.trim(),
      JWT_ISSUER: "energy-registry",
      JWT_AUDIENCE: "energy-platform",
    });
  });

  it('accepts a one-line PEM with literal "\\n" escapes', () => {
    const oneLine = publicKeyPem.trim().replaceAll("\n", "\\n");
    const config = loadConfig(BaseConfigSchema, { PORT: "1", JWT_PUBLIC_KEY: oneLine });
    expect(config.JWT_PUBLIC_KEY).toBe(publicKeyPem.trim());
  });

  it("names every bad variable and why, without echoing values", () => {
    const schema = BaseConfigSchema.extend({ DATABASE_URL: z.url() });
    const env = {
      PORT: "eighty",
      NODE_ENV: "staging",
      JWT_PUBLIC_KEY: "top-secret-not-a-pem",
      LOG_LEVEL: "",
    };
    let error: unknown;
    try {
      loadConfig(schema, env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/^Invalid configuration: /);
    expect(message).toContain("PORT: expected number");
    expect(message).toContain("DATABASE_URL: required");
    expect(message).toContain("NODE_ENV: ");
    expect(message).toContain("JWT_PUBLIC_KEY: must be a PEM-encoded P-256 (ES256) public key");
    expect(message).not.toContain("LOG_LEVEL"); // empty means unset: the default applies
    for (const value of ["eighty", "staging", "top-secret-not-a-pem"]) expect(message).not.toContain(value);
    expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
      "DATABASE_URL",
      "JWT_PUBLIC_KEY",
      "NODE_ENV",
      "PORT",
    ]);
  });

  it("refuses a private key where the public key belongs", () => {
    expect(() => loadConfig(BaseConfigSchema, { PORT: "1", JWT_PUBLIC_KEY: privateKeyPem })).toThrow(
      "JWT_PUBLIC_KEY: must be a public key, not a private key",
    );
  });
});
