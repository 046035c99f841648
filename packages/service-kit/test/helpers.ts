import { createHmac, generateKeyPairSync } from "node:crypto";
import jwt from "jsonwebtoken";
import { z } from "zod";
import { type App, type BaseConfig, conflict, createApp, type FastifyPluginAsyncZod } from "../src/index.ts";

export function keyPair(): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

export const registryKeys = keyPair();

export const config: BaseConfig = {
  NODE_ENV: "test",
  HOST: "127.0.0.1",
  PORT: 0,
  LOG_LEVEL: "info",
  JWT_PUBLIC_KEY: registryKeys.publicKeyPem,
  JWT_ISSUER: "energy-registry",
  JWT_AUDIENCE: "energy-platform",
};

type Claims = { sub?: string; typ?: string; jti?: string; exp?: number; key?: string };

/** A token as the registry issues it; override claims or the signing key to make a bad one. */
export function signToken(claims: Claims = {}, privateKeyPem = registryKeys.privateKeyPem): string {
  const payload = { sub: "usr-alice", typ: "user", exp: Math.floor(Date.now() / 1000) + 300, ...claims };
  return jwt.sign(payload, privateKeyPem, {
    algorithm: "ES256",
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  });
}

const base64url = (value: object | string | Buffer) =>
  Buffer.from(typeof value === "object" && !Buffer.isBuffer(value) ? JSON.stringify(value) : value).toString(
    "base64url",
  );

function registryPayload() {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: "usr-mallory",
    typ: "root",
    iss: config.JWT_ISSUER,
    aud: config.JWT_AUDIENCE,
    iat: now,
    exp: now + 300,
  };
}

/** `alg: none`, no signature. */
export function unsignedToken(): string {
  return `${base64url({ alg: "none", typ: "JWT" })}.${base64url(registryPayload())}.`;
}

/** HS256 with the registry's public key PEM as the HMAC secret (the classic algorithm confusion). */
export function hmacWithPublicKeyToken(): string {
  const input = `${base64url({ alg: "HS256", typ: "JWT" })}.${base64url(registryPayload())}`;
  const signature = createHmac("sha256", registryKeys.publicKeyPem).update(input).digest("base64url");
  return `${input}.${signature}`;
}

export const ThingSchema = z.object({ email: z.email(), name: z.string().min(1) });

/** Routes a service would write, as a plugin with typed zod schemas. */
const testRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get("/whoami", async (request) => request.identity);

  app.post(
    "/things",
    { schema: { body: ThingSchema, response: { 201: ThingSchema.extend({ id: z.string() }) } } },
    async (request, reply) => reply.status(201).send({ id: "thg-1", ...request.body }),
  );

  app.post("/things/duplicate", async () => {
    throw conflict("conflict", "A thing with this email already exists");
  });

  app.get("/boom", async () => {
    throw new Error("connection to postgres://admin:hunter2@db failed");
  });

  app.post("/echo-logged", async (request) => {
    request.log.info({ headers: request.headers, body: request.body }, "received");
    return { ok: true };
  });

  app.get("/broken-response", { schema: { response: { 200: z.object({ id: z.string() }) } } }, async () => {
    return { id: 42 } as unknown as { id: string };
  });

  app.get("/public-thing", { config: { public: true } }, async () => ({ hello: "world" }));
};

export type TestApp = { app: App; logs: () => string };

export type TestAppOptions = {
  readiness?: Record<string, () => Promise<unknown>>;
  routes?: FastifyPluginAsyncZod;
};

export async function buildTestApp({ readiness, routes }: TestAppOptions = {}): Promise<TestApp> {
  const lines: string[] = [];
  const app = await createApp({
    name: "test-service",
    version: "1.2.3",
    config,
    readiness,
    readinessTimeoutMs: 200,
    bodyLimit: 1024,
    logger: { stream: { write: (line: string) => void lines.push(line) } },
  });
  await app.register(testRoutes);
  if (routes) await app.register(routes);
  await app.ready();
  return { app, logs: () => lines.join("") };
}
