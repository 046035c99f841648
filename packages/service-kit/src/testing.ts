/**
 * The test harness of every service: the service's own declaration, started by the same runtime as
 * server.ts, on a fresh database (a copy of its migrated template) and a fresh topic prefix of the run's
 * real PostgreSQL and Kafka. Import it from "@energy/service-kit/testing" in tests only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { type AddressInfo, createServer } from "node:net";
import { type AnyTopic, catalog } from "@energy/contracts";
import {
  createTestDatabase,
  createTestKafka,
  type TestDatabase,
  type TestKafka,
  waitFor,
} from "@energy/testing";
import jwt from "jsonwebtoken";
import { type RouteErrorCatalog, SERVICE_ERROR_CODES } from "./error-codes.ts";
import {
  consumedTopics,
  type RuntimeConfig,
  type RuntimeDb,
  type ServiceDefinition,
  type StartedService,
  startService,
} from "./runtime.ts";

export interface TestServiceOptions {
  /** environment variables over the harness's (database, Kafka, JWT keys, NODE_ENV=test, LOG_LEVEL=warn) */
  env?: Record<string, string>;
  /** topics to create besides the ones the service owns and consumes (e.g. another service's, to publish as it) */
  topics?: readonly AnyTopic[];
  /** start the service's consumer groups (default true); the harness waits until they joined */
  consumers?: boolean;
  /** start its background jobs (default true), or only those named */
  jobs?: boolean | readonly string[];
  /** the outbox relay's poll interval (default 50 ms) */
  outboxPollIntervalMs?: number;
}

export type TestService<C extends RuntimeConfig, D extends RuntimeDb, X extends object> = StartedService<
  C,
  D,
  X
> & {
  app: StartedService<C, D, X>["app"];
  db: D;
  config: C;
  database: TestDatabase;
  testKafka: TestKafka;
  /** a bearer token as the registry issues it (ES256), for any identity; `claims.key` names its login key */
  tokenFor(sub: string, typ?: string, claims?: { key?: string }): string;
  /** `{ authorization: "Bearer …" }` for app.inject */
  auth(sub: string, typ?: string): { authorization: string };
  /** the signing key pair of the tokens (PEM), e.g. for the registry, which issues them */
  jwtKeys: { privateKey: string; publicKey: string };
  /** the environment it was started with (to start it again, or its server.ts, on the same database) */
  env: Record<string, string>;
  /** stops the service and drops its database */
  close(): Promise<void>;
};

/** Every topic a service owns or consumes (what its tests need on the broker). */
export function topicsOf(def: Parameters<typeof consumedTopics>[0] & { name: string }): AnyTopic[] {
  const all = new Map<string, AnyTopic>();
  for (const topic of catalog) if (topic.owner === def.name) all.set(topic.name, topic);
  for (const topic of consumedTopics(def)) all.set(topic.name, topic);
  return [...all.values()];
}

export async function startTestService<C extends RuntimeConfig, D extends RuntimeDb, X extends object>(
  def: ServiceDefinition<C, D, X>,
  opts: TestServiceOptions = {},
): Promise<TestService<C, D, X>> {
  const topicNames = [...topicsOf(def), ...(opts.topics ?? [])].map((t) => t.name);
  const [database, testKafka] = await Promise.all([
    createTestDatabase({ cwd: def.dir }),
    createTestKafka({ topics: [...new Set(topicNames)] }),
  ]);
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwtKeys = {
    privateKey: keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKey: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
  const env: Record<string, string> = {
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    DATABASE_URL: database.url,
    KAFKA_BROKERS: testKafka.brokers,
    KAFKA_TOPIC_PREFIX: testKafka.topicPrefix,
    JWT_PUBLIC_KEY: jwtKeys.publicKey,
    JWT_PRIVATE_KEY: jwtKeys.privateKey,
    ...opts.env,
  };
  const named: readonly string[] = typeof opts.jobs === "object" ? opts.jobs : [];
  const testDef: ServiceDefinition<C, D, X> = {
    ...def,
    outboxPollIntervalMs: opts.outboxPollIntervalMs ?? 50,
    ...(opts.consumers === false ? { consumers: [] } : {}),
    ...(opts.jobs === false ? { jobs: [] } : {}),
    ...(typeof opts.jobs === "object"
      ? { jobs: (def.jobs ?? []).filter((job) => named.includes(job.name)) }
      : {}),
  };
  let started: StartedService<C, D, X>;
  try {
    started = await startService(testDef, { env });
    await started.consumersJoined;
  } catch (error) {
    await database.drop();
    throw error;
  }
  const { config } = started.ctx;
  const tokenFor = (sub: string, typ = "user", claims: { key?: string } = {}) =>
    jwt.sign({ typ, ...claims }, keys.privateKey, {
      algorithm: "ES256",
      subject: sub,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      expiresIn: "5m",
    });
  return {
    ...started,
    db: started.ctx.db,
    config,
    database,
    testKafka,
    jwtKeys,
    env,
    tokenFor,
    auth: (sub, typ) => ({ authorization: `Bearer ${tokenFor(sub, typ)}` }),
    async close() {
      await started.stop();
      await database.drop();
    },
  };
}

/** A free TCP port on 127.0.0.1 (for a service started as a process). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  /** what the process wrote on stderr so far (its log at LOG_LEVEL) */
  stderr(): string;
  /** SIGKILL, resolved once it exited */
  kill(): Promise<void>;
}

/**
 * The real `src/server.ts` of the service in `dir`, as a child process with `env` (on a free port unless
 * PORT is given), resolved once its `/readyz` answers 200: database and Kafka reachable (by default
 * within 110 s, or it is killed and the error carries what it wrote on stderr).
 */
export async function spawnService(
  dir: string,
  env: Record<string, string>,
  opts: { timeoutMs?: number } = {},
): Promise<ServiceProcess> {
  const port = env.PORT ?? String(await freePort());
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: dir,
    env: { ...process.env, ...env, PORT: port, HOST: "127.0.0.1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const kill = (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  };
  try {
    await waitFor(
      "the service to answer /readyz",
      async () => {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${stderr.slice(-2000)}`);
        return (await fetch(`${url}/readyz`)).ok;
      },
      // a loaded 2-core machine (two test files spawning services, the broker and PostgreSQL on it) has
      // taken over a minute to start one; vitest's hook timeout is 120 s
      { timeoutMs: opts.timeoutMs ?? 110_000, intervalMs: 100 },
    );
  } catch (error) {
    await kill();
    throw new Error(`${(error as Error).message}\n${stderr.slice(-2000)}`);
  }
  return { child, url, stderr: () => stderr, kill };
}

/**
 * The service's rule codes of the catalog (error-codes/<service>.ts) that its OpenAPI document does not list
 * on a route the catalog names, as "code: METHOD /path" (empty when every one is listed under its status).
 */
export function undocumentedErrorCodes(
  service: keyof typeof SERVICE_ERROR_CODES,
  document: {
    paths: Record<string, Record<string, { responses?: Record<string, { description?: string }> }>>;
  },
): string[] {
  const own: RouteErrorCatalog = SERVICE_ERROR_CODES[service];
  return Object.entries(own).flatMap(([code, entry]) =>
    entry.routes.flatMap((route) => {
      const [method = "", path = ""] = route.split(" ");
      const response = document.paths[path]?.[method.toLowerCase()]?.responses?.[String(entry.status)];
      return response?.description?.includes(`\`${code}\``) ? [] : [`${code}: ${route}`];
    }),
  );
}
