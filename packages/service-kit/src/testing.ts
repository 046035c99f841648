/**
 * The test harness of every service: the service's own declaration, started by the same runtime as
 * server.ts, on a fresh database (a copy of its migrated template) and a fresh topic prefix of the run's
 * real PostgreSQL and Kafka. Import it from "@energy/service-kit/testing" in tests only.
 */
import { generateKeyPairSync } from "node:crypto";
import { type AnyTopic, catalog } from "@energy/contracts";
import { createTestDatabase, createTestKafka, type TestDatabase, type TestKafka } from "@energy/testing";
import jwt from "jsonwebtoken";
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
  /** start its background jobs (default true) */
  jobs?: boolean;
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
  /** a bearer token as the registry issues it (ES256), for any identity */
  tokenFor(sub: string, typ?: string): string;
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
  const testDef: ServiceDefinition<C, D, X> = {
    ...def,
    outboxPollIntervalMs: opts.outboxPollIntervalMs ?? 50,
    ...(opts.consumers === false ? { consumers: [] } : {}),
    ...(opts.jobs === false ? { jobs: [] } : {}),
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
  const tokenFor = (sub: string, typ = "user") =>
    jwt.sign({ typ }, keys.privateKey, {
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
