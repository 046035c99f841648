/**
 * Where the real PostgreSQL and Kafka of a test run are. Set by the test command
 * (tools/platform.sh test starts them locally) or by the global setup (testcontainers,
 * when a Docker engine is available). Nothing is mocked: without them the suite fails.
 */
export function postgresUrl(): string {
  const url = process.env.TEST_POSTGRES_URL;
  if (!url) {
    throw new Error(
      "TEST_POSTGRES_URL is not set: these tests need a real PostgreSQL. Run them with `bash tools/platform.sh test` " +
        "(it uses the machine's PostgreSQL on 127.0.0.1:5432), or set TEST_POSTGRES_URL=postgresql://user@host:port/postgres.",
    );
  }
  return url;
}

export function kafkaBrokers(): string {
  const brokers = process.env.TEST_KAFKA_BROKERS;
  if (!brokers) {
    throw new Error(
      "TEST_KAFKA_BROKERS is not set: these tests need a real Kafka broker. Run them with `bash tools/platform.sh test` " +
        "(it starts a local KRaft broker from infra/kafka), or set TEST_KAFKA_BROKERS=127.0.0.1:9092.",
    );
  }
  return brokers;
}
