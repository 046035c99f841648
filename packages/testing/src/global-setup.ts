/**
 * vitest global setup: makes sure the run has a real PostgreSQL and a real Kafka.
 *  1. TEST_POSTGRES_URL and TEST_KAFKA_BROKERS set (tools/platform.sh test sets them): use them.
 *  2. otherwise, with a Docker engine: start both with testcontainers for this run.
 *  3. otherwise: stop with a message that says how to run the tests. Never skip.
 */
import { existsSync } from "node:fs";
import { isUp } from "@energy/infra/kafka";
import pg from "pg";

async function checkPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (error) {
    throw new Error(`PostgreSQL at TEST_POSTGRES_URL is not reachable: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

function dockerAvailable(): boolean {
  return Boolean(process.env.DOCKER_HOST) || existsSync("/var/run/docker.sock");
}

export default async function setup(): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<unknown>> = [];
  if (!process.env.TEST_POSTGRES_URL || !process.env.TEST_KAFKA_BROKERS) {
    if (!dockerAvailable()) {
      throw new Error(
        "No PostgreSQL/Kafka for the tests: set TEST_POSTGRES_URL and TEST_KAFKA_BROKERS, run `bash tools/platform.sh test` " +
          "(starts a local Kafka broker and uses the machine's PostgreSQL), or provide a Docker engine for testcontainers.",
      );
    }
    const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
    const { KafkaContainer } = await import("@testcontainers/kafka");
    if (!process.env.TEST_POSTGRES_URL) {
      const postgres = await new PostgreSqlContainer("postgres:17-alpine").start();
      stops.push(() => postgres.stop());
      process.env.TEST_POSTGRES_URL = postgres.getConnectionUri().replace(/\/[^/]*$/, "/postgres");
    }
    if (!process.env.TEST_KAFKA_BROKERS) {
      const kafka = await new KafkaContainer("apache/kafka:4.1.1").withKraft().start();
      stops.push(() => kafka.stop());
      process.env.TEST_KAFKA_BROKERS = `${kafka.getHost()}:${kafka.getMappedPort(9093)}`;
    }
  }
  await checkPostgres(process.env.TEST_POSTGRES_URL!);
  if (!(await isUp(process.env.TEST_KAFKA_BROKERS!, 5_000))) {
    throw new Error(`Kafka at TEST_KAFKA_BROKERS=${process.env.TEST_KAFKA_BROKERS} does not answer`);
  }
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}
